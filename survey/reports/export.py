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
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import uploads
from ..engine.definition import Definition
from ..models import Caf, Campaign, CorrectionRequest, Project, Response, ResponseState, User
from ..questionnaires import campaign_definition
from . import xlsx

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)


class Column(NamedTuple):
    """One export column: its stable code, its French wording, its width in an XLSX sheet, and what the
    codebook says of its values (the project's columns; a question's column says it through its kind)."""
    code: str
    wording: str
    width: float = 20
    note: str = ""


MOMENT = "date et heure (jj/mm/aaaa hh:mm), à l’heure de la Caf du projet"


# What the project's record says, before any answer. The Caf's identity is the record's: a
# question prefilled from it (``prefill``) only asks the partner to confirm it, and the
# record's column stands for both. The structure's name stays the partner's own answer too
# (they may correct the imported name); the record's is the one the Caf's lists show.
FIXED_COLUMNS = [
    Column("reference", "Référence du projet", 16),
    Column("caf", "Numéro de la Caf", 10),
    Column("caf_nom", "Caf", 24),
    Column("structure", "Structure (fiche du projet)", 30),
    Column("etat", "État du bilan", 18, " | ".join(f"{state.value} = {state.label}" for state in ResponseState)),
    Column("commence_le", "Commencé le", 17, MOMENT),
    Column("transmis_le", "Transmis le", 17, MOMENT + " ; la dernière transmission"),
    Column("valide_le", "Validé le", 17, MOMENT),
    Column("valide_par", "Validé par", 24, "nom (à défaut, adresse électronique) de la personne de la Caf qui a validé"),
    Column("demandes_correction", "Demandes de correction", 12, "nombre de demandes de correction envoyées au partenaire"),
]
RECORD_FACTS = {"caf_number": "caf", "caf_name": "caf_nom"}
HEADERS = ("libelles", "libelles_codes", "codes")
EXTENSIONS = {mime: ext for ext, mime in uploads.ALLOWED.items()}


def neutralise(value):
    """A text cell that Excel would run as a formula gets a leading apostrophe."""
    if value.__class__ is str and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value


def csv_cell(value, french: bool):
    """A cell as the CSV writes it: French Excel (``;``) reads 12,5, 15/07/2024 and 15/07/2024 10:00;
    otherwise 12.5, 2024-07-15 and 2024-07-15 10:00."""
    if value.__class__ is float:
        text = repr(value)
        return text.replace(".", ",") if french else text
    if value.__class__ is datetime:
        return value.strftime("%d/%m/%Y %H:%M" if french else "%Y-%m-%d %H:%M")
    if value.__class__ is date:
        return value.strftime("%d/%m/%Y") if french else value.isoformat()
    return neutralise(value)


@dataclass(frozen=True)
class ExportOptions:
    separator: str = ";"
    labels: bool = True          # choice labels (default) or choice codes
    # The header rows: the French wording (the codes are in the codebook), the wording then
    # the codes, or the codes alone (what scripts read, the same every year).
    headers: str = "libelles"

    def header_rows(self, heads: list[Column]) -> list[list[str]]:
        wording, codes = [head.wording for head in heads], [head.code for head in heads]
        return {"codes": [codes], "libelles_codes": [wording, codes]}.get(self.headers, [wording])


def exported_questions(definition: Definition) -> list:
    """The questions that have columns of their own: not those asking again what the record says."""
    return [q for q in definition.questions.values() if q.prefill not in RECORD_FACTS]


def columns(definition: Definition) -> list[Column]:
    """Every export column, in the questionnaire's order; no two share a code, nor a wording."""
    result = list(FIXED_COLUMNS)
    for question in exported_questions(definition):
        result.extend(Column(code, wording, question.export_width) for code, wording in question.export_columns())
    return _distinct(result)


def _distinct(heads: list[Column]) -> list[Column]:
    """A code met again gets a number (``etat_2``), a wording met again its code: each header names one column."""
    codes, wordings, result = set(), set(), []
    for head in heads:
        code, number = head.code, 1
        while code in codes:
            number += 1
            code = f"{head.code}_{number}"
        wording = head.wording if head.wording not in wordings else f"{head.wording} ({code})"
        codes.add(code)
        wordings.add(wording)
        result.append(head._replace(code=code, wording=wording))
    return result


def scoped_responses(campaign: Campaign, caf_id: int | None):
    query = select(Response).join(Project).where(Response.campaign_id == campaign.id)
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    return query.order_by(Project.reference)


def _when(moment: datetime | None, zone):
    """A moment as the Caf's clock showed it (minutes), naive: what a spreadsheet's date cell holds."""
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) if moment else ""


def iter_rows(db: Session, campaign: Campaign, caf_id: int | None, labels: bool, batch: int = 1000):
    """One list of cells per project of the campaign (not started ones included).

    Reads plain rows in batches (no ORM objects), so memory stays flat.
    """
    definition = campaign_definition(campaign)
    cell_makers = [question.export_cells for question in exported_questions(definition)]
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
    for number, header in enumerate(options.header_rows(columns(campaign_definition(campaign)))):
        writer.writerow([neutralise(name) for name in header])
        yield ("\ufeff" if number == 0 else "") + line.value
    french = options.separator == ";"
    for row in iter_rows(db, campaign, caf_id, options.labels):
        writer.writerow([csv_cell(cell, french) for cell in row])
        yield line.value


CODEBOOK_WIDTHS = (30, 20, 60, 8, 18, 60)


def codebook_rows(definition: Definition):
    """Every column: code, question code, wording, page, kind (in French), choices."""
    yield ["colonne", "question", "libellé", "étape", "type", "codes et libellés des réponses"]
    heads = iter(columns(definition))
    folded = {RECORD_FACTS[q.prefill]: q.code for q in definition.questions.values() if q.prefill in RECORD_FACTS}
    for _ in FIXED_COLUMNS:
        head = next(heads)
        yield [head.code, folded.get(head.code, ""), head.wording, "", "fiche du projet", head.note]
    pages = {question.code: page.number for page in definition.pages for question in page.questions}
    for question in exported_questions(definition):
        choices = question.codebook_cell()
        for _ in question.export_columns():
            head = next(heads)
            yield [head.code, question.code, head.wording, pages[question.code], question.kind_label, choices]


def codebook_lines(definition: Definition, separator=";"):
    line = _Line()
    writer = csv.writer(line, delimiter=separator, lineterminator="\r\n")
    first = True
    for row in codebook_rows(definition):
        writer.writerow([neutralise(cell) for cell in row])
        yield ("\ufeff" if first else "") + line.value
        first = False


def write_xlsx(target, db: Session, campaign: Campaign, caf_id: int | None, options: ExportOptions):
    """The same content as the CSV (texts stay texts, never formulas; dates, times and numbers as such,
    in the Caf's time zone), plus the codebook sheet, streamed."""
    definition = campaign_definition(campaign)
    heads = columns(definition)
    headers = options.header_rows(heads)

    def answers():
        yield from headers
        yield from iter_rows(db, campaign, caf_id, options.labels)

    xlsx.write_workbook(target, [
        xlsx.Sheet("Réponses", answers(), frozen_rows=len(headers), frozen_columns=1,
                   widths=[head.width for head in heads], header_rows=len(headers)),
        xlsx.Sheet("Dictionnaire", codebook_rows(definition), frozen_rows=1, widths=CODEBOOK_WIDTHS, header_rows=1)])


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
