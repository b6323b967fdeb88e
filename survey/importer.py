"""Import the funded projects of a campaign and their contacts from a CSV file.

Every row is checked first; by default a file with any error imports
nothing. Importing the same file again updates, never duplicates.
"""
import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.fr import siret as stdnum_siret

from .engine.answers import prefilled_answers
from .questionnaires import campaign_definition
from .engine.forms.validators import Email, compact_digits
from .models import Caf, Campaign, Contact, Project, ResponseState
from . import clock
from .models.caf import timezone_for_number
from .operations import enrol_project, project_context
from .operations.cafs import CafSettings, read_timezone, settings_problems
from .operations.contacts import reinstate_contact, withdraw_contact

COLUMNS = {
    "reference": ("reference", "référence", "ref"),
    "structure": ("structure", "nom_structure", "nom de la structure"),
    "siret": ("siret",),
    "caf": ("caf", "numero_caf", "numéro caf", "caf_numero"),
    "caf_nom": ("caf_nom", "nom_caf", "nom de la caf"),
    "commune": ("commune",),
    # Optional, used only when the row creates its Caf.
    "caf_fuseau": ("caf_fuseau", "fuseau", "caf_timezone"),
    "caf_email": ("caf_email", "caf_courriel"),
    "caf_telephone": ("caf_telephone", "caf_téléphone"),
    "caf_adresse": ("caf_adresse",),
    "caf_horaires": ("caf_horaires",),
    "emails": ("emails", "email", "contacts", "courriels"),
}
REQUIRED = ("reference", "structure", "siret", "caf", "emails")
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,59}")
EMAIL = Email().regex
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self):
        return f"ligne {self.line}, colonne {self.column} : {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    contacts_added: int = 0
    # "REFERENCE : email" of each contact the file no longer lists: its links are revoked, its emails stop.
    contacts_withdrawn: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    # Projects a check (dry run) found ready to import.
    ready: int = 0

    def summary(self) -> str:
        if self.ready and not self.errors:
            return f"Tout est prêt : {count(self.ready, 'projet')} à importer. Rien n'est encore importé."
        done = "Import effectué" if self.applied else "Rien n'a été importé"
        created = count(self.created, "projet") + (" créés" if self.created > 1 else " créé")
        unchanged = "inchangés" if self.unchanged > 1 else "inchangé"
        added = count(self.contacts_added, "contact") + (" ajoutés" if self.contacts_added > 1 else " ajouté")
        skipped = count(self.skipped, "ligne") + (" ignorées" if self.skipped > 1 else " ignorée")
        withdrawn = count(len(self.contacts_withdrawn), "contact") + (" retirés" if len(self.contacts_withdrawn) > 1
                                                                      else " retiré")
        return (f"{done} : {created}, {self.updated} mis à jour, {self.unchanged} {unchanged}, {added}, {withdrawn}, "
                f"{skipped}, "
                f"{count(len(self.errors), 'erreur')}.")

    def withdrawals(self) -> str:
        """What became of the contacts the file no longer lists (empty when none)."""
        if not self.contacts_withdrawn:
            return ""
        if not self.applied:
            return ("Contacts absents du fichier, qui seraient retirés de leur projet (leurs liens personnels ne "
                    "s’ouvriraient plus) : " + ", ".join(self.contacts_withdrawn) + ".")
        return ("Contacts absents du fichier, retirés de leur projet (leurs liens personnels ne s’ouvrent plus et ils "
                "ne recevront plus de courriel) : " + ", ".join(self.contacts_withdrawn) + ".")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 as older Excel writes it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_map(header):
    mapping = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        for column, aliases in COLUMNS.items():
            if key in aliases and column not in mapping:
                mapping[column] = index
    return mapping


@dataclass
class Row:
    line: int
    reference: str
    structure: str
    siret: str
    caf_number: str
    caf_name: str
    commune: str
    emails: list[str]
    caf_settings: dict = field(default_factory=dict)


def parse(text: str) -> tuple[list[Row], list[RowError]]:
    """Read and check every row; returns the good rows and every error."""
    first = text.split("\n", 1)[0]
    separator = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = next(reader, None)
    if not header:
        return [], [RowError(1, "-", "le fichier est vide")]
    mapping = _header_map(header)
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        return [], [RowError(1, c, "colonne absente de l'en-tête") for c in missing]
    rows, errors, seen = [], [], {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        value = {c: (cells[i].strip() if i < len(cells) else "") for c, i in mapping.items()}
        row_errors = []
        reference = value["reference"]
        if not REFERENCE.fullmatch(reference):
            row_errors.append(RowError(line, "reference", "référence absente ou invalide (lettres, chiffres, - _ . /, 60 au plus)"))
        elif reference in seen:
            row_errors.append(RowError(line, "reference", f"référence déjà présente ligne {seen[reference]}"))
        else:
            seen[reference] = line
        if not value["structure"] or len(value["structure"]) > 200:
            row_errors.append(RowError(line, "structure", "nom de structure absent ou trop long (200 au plus)"))
        siret = compact_digits(value["siret"])
        if not stdnum_siret.is_valid(siret):
            row_errors.append(RowError(line, "siret", f"SIRET invalide « {value['siret']} »"))
        if not re.fullmatch(r"\d{2,4}[A-Z]?", value["caf"]):
            row_errors.append(RowError(line, "caf", f"numéro de Caf invalide « {value['caf']} »"))
        emails = [e.lower() for e in re.split(r"[\s,;|]+", value["emails"]) if e]
        bad = [e for e in emails if not EMAIL.fullmatch(e)]
        if not emails:
            row_errors.append(RowError(line, "emails", "au moins une adresse électronique est nécessaire"))
        for email in bad:
            row_errors.append(RowError(line, "emails", f"adresse électronique invalide « {email} »"))
        caf_settings = _caf_settings(value, line, row_errors)
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(Row(line, reference, value["structure"], siret, value["caf"], value.get("caf_nom", ""),
                        value.get("commune", "")[:200], list(dict.fromkeys(emails)), caf_settings))
    return rows, errors


CAF_COLUMNS = {"caf_email": "contact_email", "caf_telephone": "contact_phone", "caf_adresse": "contact_address",
               "caf_horaires": "contact_hours"}


def _caf_settings(value: dict, line: int, row_errors: list) -> dict:
    """The optional Caf columns of a row, checked as the admin page checks them."""
    settings = {field: value.get(column, "") for column, field in CAF_COLUMNS.items()}
    zone = value.get("caf_fuseau", "")
    settings["timezone"] = read_timezone(zone) if zone else timezone_for_number(value["caf"])
    if settings["timezone"] is None:
        row_errors.append(RowError(line, "caf_fuseau", f"fuseau horaire inconnu « {zone} » (par exemple Indian/Reunion)"))
        return {}
    problems = settings_problems(CafSettings(name=value.get("caf_nom") or "-", **settings))
    columns = {field: column for column, field in CAF_COLUMNS.items()}
    for name, message in problems.items():
        row_errors.append(RowError(line, columns.get(name, "caf_nom"), message))
    return settings


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number > 1 else ''}"


def import_projects(db: Session, campaign: Campaign, data: bytes, valid_only=False, dry_run=False,
                    progress=None) -> ImportReport:
    """Check the whole file, then create or update its projects and contacts, and enrol them.

    With errors, nothing is imported unless ``valid_only``. Commits once.
    """
    report = ImportReport()
    if len(data) > MAX_BYTES:
        report.errors.append(RowError(0, "-", "fichier trop volumineux (20 Mo au plus)"))
        return report
    rows, report.errors = parse(decode(data))
    cafs = {caf.number: caf for caf in db.scalars(select(Caf))}
    for row in rows:
        if row.caf_number not in cafs and not row.caf_name:
            report.errors.append(RowError(row.line, "caf", f"Caf {row.caf_number} inconnue (ajoutez une colonne caf_nom pour la créer)"))
    error_lines = {e.line for e in report.errors if e.line > 1}
    good = [row for row in rows if row.line not in error_lines]
    if report.errors and not valid_only:
        report.skipped = len(error_lines | {row.line for row in rows})
        return report
    report.skipped = len(error_lines)
    if dry_run:
        report.contacts_withdrawn = _withdrawals_of(db, good)
        report.ready = len(good)
        return report
    definition = campaign_definition(campaign)
    for row in progress(good) if progress else good:
        caf = cafs.get(row.caf_number)
        if caf is None:
            settings = {field: value or None for field, value in row.caf_settings.items()}
            caf = cafs[row.caf_number] = Caf(number=row.caf_number, name=row.caf_name, **settings)
            db.add(caf)
        _apply_row(db, campaign, definition, caf, row, report)
    db.commit()
    report.applied = True
    return report


def _withdrawals_of(db, rows) -> list[str]:
    """The contacts importing ``rows`` would withdraw (for a dry run)."""
    listed = {row.reference: set(row.emails) for row in rows}
    current = db.execute(select(Project.reference, Contact.email).join(Contact, Contact.project_id == Project.id)
                         .where(Project.reference.in_(list(listed)), Contact.withdrawn_at.is_(None))
                         .order_by(Project.reference, Contact.id))
    return [f"{reference} : {email}" for reference, email in current if email not in listed[reference]]


def _apply_row(db, campaign, definition, caf, row, report):
    project = db.scalar(select(Project).where(Project.reference == row.reference))
    created = project is None
    if created:
        project = Project(reference=row.reference, caf=caf, structure_name=row.structure, siret=row.siret,
                          commune=row.commune or None)
        db.add(project)
        before = None
    else:
        before = (project.caf_id, project.structure_name, project.siret, project.commune)
        project.caf, project.structure_name, project.siret = caf, row.structure, row.siret
        project.commune = row.commune or project.commune
    db.flush()
    known = {contact.email: contact for contact in project.contacts}
    added = [email for email in row.emails if email not in known or known[email].is_withdrawn]
    for email in added:
        if email in known:
            reinstate_contact(known[email])
        else:
            db.add(Contact(project=project, email=email))
    report.contacts_added += len(added)
    response = enrol_project(db, campaign, project)
    # The file lists the project's contacts: one it no longer lists loses its links and its emails.
    gone = [contact for email, contact in known.items() if email not in row.emails and not contact.is_withdrawn]
    for contact in gone:
        withdraw_contact(db, contact, clock.now(), responses=[response], reason="absent du dernier import")
        report.contacts_withdrawn.append(f"{project.reference} : {contact.email}")
    if created:
        report.created += 1
    elif added or gone or before != (project.caf_id, project.structure_name, project.siret, project.commune):
        report.updated += 1
    else:
        report.unchanged += 1
    if response.state is ResponseState.NOT_STARTED:
        # Nobody answered yet: the prefill follows the latest import.
        response.answers = prefilled_answers(definition, project_context(project))
