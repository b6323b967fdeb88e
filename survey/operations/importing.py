"""Import a campaign's funded projects and their contacts, from the rows :mod:`survey.importer` accepted.

Every row is checked first; by default a file with any error imports
nothing. Importing the same file again updates, never duplicates.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine.answers import prefilled_answers
from ..engine.timefmt import count_of
from ..importer import Row, RowError, decode, parse
from ..models import Caf, Campaign, Contact, Project, ResponseState
from ..questionnaires import campaign_definition
from .contacts import reinstate_contact, withdraw_contact
from .setup import enrol_project, project_context

MAX_BYTES = 20 * 1024 * 1024


def _done(number: int, noun: str, participle: str) -> str:
    """``0 projet créé``, ``2 contacts retirés``: the participle agrees as the noun does."""
    return f"{count_of(number, noun)} {participle}{'s' if number > 1 else ''}"


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
            return f"Tout est prêt : {count_of(self.ready, 'projet')} à importer. Rien n'est encore importé."
        done = "Import effectué" if self.applied else "Rien n'a été importé"
        return (f"{done} : {_done(self.created, 'projet', 'créé')}, {self.updated} mis à jour, "
                f"{self.unchanged} {'inchangés' if self.unchanged > 1 else 'inchangé'}, "
                f"{_done(self.contacts_added, 'contact', 'ajouté')}, "
                f"{_done(len(self.contacts_withdrawn), 'contact', 'retiré')}, "
                f"{_done(self.skipped, 'ligne', 'ignorée')}, {count_of(len(self.errors), 'erreur')}.")

    def withdrawals(self) -> str:
        """What became of the contacts the file no longer lists (empty when none)."""
        if not self.contacts_withdrawn:
            return ""
        if not self.applied:
            return ("Contacts absents du fichier, qui seraient retirés de leur projet (leurs liens personnels ne "
                    "s’ouvriraient plus) : " + ", ".join(self.contacts_withdrawn) + ".")
        return ("Contacts absents du fichier, retirés de leur projet (leurs liens personnels ne s’ouvrent plus et ils "
                "ne recevront plus de courriel) : " + ", ".join(self.contacts_withdrawn) + ".")


def import_projects(db: Session, campaign: Campaign, data: bytes, now: datetime, valid_only=False, dry_run=False,
                    progress=None) -> ImportReport:
    """Check the whole file, then create or update its projects and contacts, and enrol them; commits once.

    With errors, nothing is imported unless ``valid_only``; ``dry_run`` only
    checks, and says which contacts the import would withdraw.
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
    return import_rows(db, campaign, good, now, report, progress)


def import_rows(db: Session, campaign: Campaign, rows: list[Row], now: datetime, report: ImportReport | None = None,
                progress=None) -> ImportReport:
    """Create or update the projects of checked ``rows`` (their Cafs too, when named) and enrol them; commits once.

    Each row lists all its project's contacts: one it no longer lists is withdrawn.
    """
    report = report or ImportReport()
    cafs = {caf.number: caf for caf in db.scalars(select(Caf))}
    definition = campaign_definition(campaign)
    for row in progress(rows) if progress else rows:
        caf = cafs.get(row.caf_number)
        if caf is None:
            settings = {name: value or None for name, value in row.caf_settings.items()}
            caf = cafs[row.caf_number] = Caf(number=row.caf_number, name=row.caf_name, **settings)
            db.add(caf)
        _apply_row(db, campaign, definition, caf, row, report, now)
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


def _apply_row(db, campaign, definition, caf, row, report, now):
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
        withdraw_contact(db, contact, now, responses=[response], reason="absent du dernier import")
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
