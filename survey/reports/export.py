"""Exports shared by every download and command: CSV, XLSX, codebook, attachments.

Rows are read in batches and written as they come, so memory does not grow
with the number of projects. One writer neutralises cells that a spreadsheet
could run as formulas.
"""
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import uploads
from . import xlsx
from ..engine.definition import Definition
from ..questionnaires import campaign_definition
from ..models import Caf, Campaign, CorrectionRequest, Project, Response, User

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
FIXED_COLUMNS = [
    ("reference", "Référence du projet"),
    ("caf", "Numéro de la Caf"),
    ("caf_nom", "Caf"),
    ("structure", "Structure"),
    ("etat", "État du bilan"),
    ("commence_le", "Commencé le"),
    ("transmis_le", "Transmis le"),
    ("valide_le", "Validé le"),
    ("valide_par", "Validé par"),
    ("demandes_correction", "Demandes de correction"),
]
EXTENSIONS = {mime: ext for ext, mime in uploads.ALLOWED.items()}


def neutralise(value):
    """A text cell that Excel would run as a formula gets a leading apostrophe."""
    if value.__class__ is str and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value


def csv_cell(value, french: bool):
    """A cell as the CSV writes it: French Excel (``;``) reads 12,5 and 15/07/2024; otherwise 12.5 and 2024-07-15."""
    if value.__class__ is float:
        text = repr(value)
        return text.replace(".", ",") if french else text
    if value.__class__ is date:
        return value.strftime("%d/%m/%Y") if french else value.isoformat()
    return neutralise(value)


@dataclass(frozen=True)
class ExportOptions:
    separator: str = ";"
    labels: bool = True          # choice labels (default) or choice codes
    wording_row: bool = False    # a second header row with the French wording


def columns(definition: Definition) -> list[tuple[str, str]]:
    """Every export column (code, wording), in the questionnaire's order."""
    result = list(FIXED_COLUMNS)
    for question in definition.questions.values():
        result.extend(question.export_columns())
    return result


def scoped_responses(campaign: Campaign, caf_id: int | None):
    query = select(Response).join(Project).where(Response.campaign_id == campaign.id)
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    return query.order_by(Project.reference)


def _when(moment: datetime | None, zone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def iter_rows(db: Session, campaign: Campaign, caf_id: int | None, labels: bool, batch: int = 1000):
    """One list of cells per project of the campaign (not started ones included).

    Reads plain rows in batches (no ORM objects), so memory stays flat.
    """
    definition = campaign_definition(campaign)
    cell_makers = [question.export_cells for question in definition.questions.values()]
    corrections = (select(func.count(CorrectionRequest.id)).where(CorrectionRequest.response_id == Response.id)
                   .correlate(Response).scalar_subquery())
    query = (select(Project.reference, Caf.number, Caf.name, Caf.timezone, Project.structure_name, Response.state,
                    Response.started_at, Response.submitted_at, Response.validated_at, User.name, User.email,
                    corrections, Response.answers)
             .join(Project, Project.id == Response.project_id).join(Caf, Caf.id == Project.caf_id)
             .outerjoin(User, User.id == Response.validated_by_id)
             .where(Response.campaign_id == campaign.id).order_by(Project.reference))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    zones = {}
    for (reference, number, name, tz, structure, state, started, submitted, validated, validator_name,
         validator_email, correction_count, answers) in db.execute(query.execution_options(yield_per=batch)):
        zone = zones.get(tz) or zones.setdefault(tz, ZoneInfo(tz))
        row = [reference, number, name, structure, state.label if labels else state.value,
               _when(started, zone), _when(submitted, zone), _when(validated, zone),
               (validator_name or validator_email or "") if validated else "", correction_count]
        for make_cells in cell_makers:
            row.extend(make_cells(answers, labels))
        yield row


class _Line:
    """A file-like that hands back what csv.writer wrote."""

    def __init__(self):
        self.value = ""

    def write(self, text):
        self.value = text


def csv_lines(db: Session, campaign: Campaign, caf_id: int | None, options: ExportOptions):
    """The CSV export, line by line: UTF-8 with BOM, CRLF, ``;`` by default."""
    line = _Line()
    writer = csv.writer(line, delimiter=options.separator, lineterminator="\r\n")
    heads = columns(campaign_definition(campaign))
    writer.writerow([code for code, _ in heads])
    yield "\ufeff" + line.value
    if options.wording_row:
        writer.writerow([neutralise(label) for _, label in heads])
        yield line.value
    french = options.separator == ";"
    for row in iter_rows(db, campaign, caf_id, options.labels):
        writer.writerow([csv_cell(cell, french) for cell in row])
        yield line.value


def codebook_rows(definition: Definition):
    """Every column: code, question code, wording, page, kind, choices."""
    yield ["colonne", "question", "libellé", "étape", "type", "codes et libellés des réponses"]
    for code, label in FIXED_COLUMNS:
        yield [code, "", label, "", "projet", ""]
    for page in definition.pages:
        for question in page.questions:
            choices = question.codebook_cell()
            for column, wording in question.export_columns():
                yield [column, question.code, wording, page.number, question.name, choices]


def codebook_lines(definition: Definition, separator=";"):
    line = _Line()
    writer = csv.writer(line, delimiter=separator, lineterminator="\r\n")
    first = True
    for row in codebook_rows(definition):
        writer.writerow([neutralise(cell) for cell in row])
        yield ("\ufeff" if first else "") + line.value
        first = False


def write_xlsx(target, db: Session, campaign: Campaign, caf_id: int | None, options: ExportOptions):
    """The same content as the CSV (texts stay texts, never formulas), plus the codebook sheet, streamed."""
    definition = campaign_definition(campaign)
    heads = columns(definition)

    def answers():
        yield [code for code, _ in heads]
        if options.wording_row:
            yield [label for _, label in heads]
        yield from iter_rows(db, campaign, caf_id, options.labels)

    header_rows = 2 if options.wording_row else 1
    xlsx.write_workbook(target, [xlsx.Sheet("Réponses", answers(), frozen_rows=header_rows, frozen_columns=1),
                                 xlsx.Sheet("Dictionnaire", codebook_rows(definition), frozen_rows=1)])


def write_attachments_zip(target, db: Session, campaign: Campaign, caf_id: int | None, upload_dir: str) -> int:
    """A ZIP of every attached document, named by project reference; returns the count."""
    definition = campaign_definition(campaign)
    files = [q for q in definition.questions.values() if q.is_upload]
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for response in db.scalars(scoped_responses(campaign, caf_id).execution_options(yield_per=500)):
            for question in files:
                stored = response.answers.get(question.code)
                path = uploads.stored_path(upload_dir, stored["key"]) if stored else None
                if path is None:
                    continue
                suffix = f"-{question.code}" if len(files) > 1 else ""
                name = f"{safe_reference(response.project.reference)}{suffix}.{EXTENSIONS.get(stored['mime'], 'bin')}"
                archive.write(path, name)
                count += 1
            db.expunge(response)
            db.expunge(response.project)
    return count


def safe_reference(reference: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in reference) or "projet"


def csv_text(lines) -> str:
    """Join streamed lines (tests and small exports)."""
    buffer = io.StringIO()
    for line in lines:
        buffer.write(line)
    return buffer.getvalue()
