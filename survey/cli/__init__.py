"""Flask commands: thin wrappers over the domain."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_session
from ..engine.definition import read_definition_file
from ..engine.errors import DefinitionError
from ..engine.timefmt import count_of
from ..questionnaires import DEFINITIONS_DIR


def register_commands(app):
    from .users import USER_COMMANDS
    for command in (check, init_db, demo, *USER_COMMANDS, create_campaign, import_projects, send_invitations, send_reminders,
                    send_due_reminders, send_pending_emails,
                    set_caf, set_caf_window, purge):
        app.cli.add_command(command)


ROLES = click.Choice(["reviewer", "admin"])


def _run(operation, *args):
    """Call an operation; a domain refusal becomes a French message and exit code 1."""
    from ..errors import DomainError
    try:
        return operation(get_session(), *args)
    except DomainError as exc:
        get_session().rollback()
        click.echo(f"Erreur : {exc.message}", err=True)
        sys.exit(1)


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths):
    """Validate questionnaire definitions (default: every bundled one)."""
    targets = paths or sorted(str(p) for p in DEFINITIONS_DIR.glob("*.json"))
    failed = False
    for path in targets:
        try:
            _, definition = read_definition_file(path)
        except DefinitionError as exc:
            failed = True
            click.echo(str(exc), err=True)
            continue
        questions = len(definition.questions)
        click.echo(f"{path}: valide ({definition.code} v{definition.version}, {len(definition.pages)} pages, {questions} questions)")
    if failed:
        sys.exit(1)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    from ..migrate import upgrade
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Base de données à jour.")


@click.command("demo")
@with_appcontext
@click.option("--days", default=30, show_default=True, help="Days until the demo campaign closes.")
def demo(days):
    """Create the demo campaign and print the partners' personal links."""
    from ..demo import seed_demo
    from ..migrate import upgrade
    upgrade(current_app.config["DATABASE_URL"])
    links = seed_demo(get_session(), days)
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo("Campagne de démonstration prête.")
    from ..demo import DEMO_USERS
    click.echo(f"Connexion des Caf : {base}/connexion")
    for email, password, label in DEMO_USERS:
        click.echo(f"  {label} : {email} / {password}")
    click.echo("Liens personnels des partenaires :")
    for project, contact, token in links:
        click.echo(f"  {project.reference} {project.structure_name} ({contact.email}):\n    {base}/r/{token}")
    if current_app.config["MAIL_FOLDER"]:
        click.echo(f"Courriels : aucun ne part ; chacun est écrit dans {current_app.config['MAIL_FOLDER']}\n"
                   f"  et se lit sur {base}/admin/courriels (compte administrateur ci-dessus).")


def _campaign_or_exit(code):
    from sqlalchemy import select

    from ..models import Campaign
    campaign = get_session().scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        click.echo(f"Erreur : aucune campagne n'a le code {code}.", err=True)
        sys.exit(1)
    return campaign


@click.command("create-campaign")
@click.argument("code")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False))
@click.option("--opens", required=True, help="Local opening date-time, e.g. '2024-06-14 08:00'.")
@click.option("--closes", required=True, help="Local closing date-time, e.g. '2024-07-15 23:59:59'.")
@click.option("--tz", default="Europe/Paris", show_default=True, help="Time zone of the two dates.")
@click.option("--title", default=None)
@with_appcontext
def create_campaign(code, definition, opens, closes, tz, title):
    """Create a campaign from a definition file; the campaign keeps its own copy."""
    from ..engine.timefmt import format_datetime, parse_local
    from ..operations import create_campaign as create
    try:
        content, _ = read_definition_file(definition)
        opens_at, closes_at = parse_local(opens, tz), parse_local(closes, tz)
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except ValueError as exc:
        click.echo(f"Erreur : date invalide ({exc}).", err=True)
        sys.exit(1)
    if opens_at >= closes_at:
        click.echo("Erreur : l'ouverture doit précéder la fermeture.", err=True)
        sys.exit(1)
    campaign = _run(lambda db: create(db, code, content, opens_at, closes_at, title))
    click.echo(f"Campagne {campaign.code} créée : {campaign.title}, du {format_datetime(opens_at, tz)} "
               f"au {format_datetime(closes_at, tz)}.")


@click.command("import-projects")
@click.argument("campaign_code")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--valid-only", is_flag=True, help="Import the valid rows even if others have errors.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, import nothing.")
@with_appcontext
def import_projects(campaign_code, csv_file, valid_only, dry_run):
    """Import (or update) the campaign's projects and contacts from a CSV file."""
    from .. import clock
    from ..operations import import_projects as run_import
    campaign = _campaign_or_exit(campaign_code)

    def progress(rows):
        with click.progressbar(rows, label="Import des projets") as bar:
            yield from bar

    report = run_import(get_session(), campaign, csv_file.read(), clock.now(), valid_only=valid_only,
                        dry_run=dry_run, progress=progress)
    for error in report.errors:
        click.echo(f"  {error}", err=True)
    click.echo(report.summary())
    if report.withdrawals():
        click.echo(report.withdrawals())
    if report.errors and not (valid_only and report.applied):
        sys.exit(1)


# -- Cafs -------------------------------------------------------------------------
@click.command("set-caf")
@click.argument("number")
@click.option("--name", help="The Caf's name.")
@click.option("--timezone", help="Indian/Reunion, America/Cayenne, ... or its French name (La Réunion).")
@click.option("--email", help="Contact email shown to partners ('' to remove).")
@click.option("--phone", help="Contact phone.")
@click.option("--address", help="Postal address (use \\n between lines).")
@click.option("--hours", help="Opening hours.")
@click.option("--note", help="Free text shown with the contact.")
@with_appcontext
def set_caf(number, name, timezone, email, phone, address, hours, note):
    """Change a Caf's name, time zone or contact; options left out keep their value."""
    from ..engine.timefmt import zone_name
    from ..operations import CafSettings, update_caf
    from ..operations.cafs import caf_by_number, read_timezone

    def change(db):
        caf = caf_by_number(db, number)
        zone = caf.timezone if timezone is None else (read_timezone(timezone) or timezone)
        given = {"contact_email": email, "contact_phone": phone, "contact_hours": hours, "contact_note": note,
                 "contact_address": address.replace("\\n", "\n") if address is not None else None}
        contact = {field: (getattr(caf, field) or "") if value is None else value for field, value in given.items()}
        return update_caf(db, caf, CafSettings(name=caf.name if name is None else name, timezone=zone, **contact))

    caf = _run(change)
    click.echo(f"{caf.name} ({caf.number}) : {zone_name(caf.timezone)}"
               + (f", contact {caf.contact_email}" if caf.contact_email else "") + ".")


@click.command("set-caf-window")
@click.argument("campaign_code")
@click.argument("number")
@click.option("--opens", help="Local opening date-time in the Caf's zone, e.g. '2024-06-14 08:00'.")
@click.option("--closes", help="Local closing date-time in the Caf's zone, e.g. '2024-07-08 23:59:59'.")
@click.option("--remove", is_flag=True, help="Follow the campaign's dates again.")
@with_appcontext
def set_caf_window(campaign_code, number, opens, closes, remove):
    """Give a Caf its own opening and closing for a campaign (in the Caf's own time zone)."""
    from ..engine.timefmt import format_datetime, parse_local
    from ..operations import remove_caf_window
    from ..operations import set_caf_window as set_window
    from ..operations.cafs import caf_by_number
    db = get_session()
    campaign = _campaign_or_exit(campaign_code)
    caf = _run(lambda db: caf_by_number(db, number))
    if remove:
        removed = remove_caf_window(db, caf, campaign)
        click.echo(f"{caf.name} suit les dates de la campagne {campaign.code}." if removed
                   else f"{caf.name} n'avait pas de dates propres pour {campaign.code}.")
        return
    try:
        opens_at = parse_local(opens, caf.timezone) if opens else campaign.opens_at
        closes_at = parse_local(closes, caf.timezone) if closes else campaign.closes_at
    except ValueError as exc:
        click.echo(f"Erreur : date invalide ({exc}).", err=True)
        sys.exit(1)
    window = _run(lambda db: set_window(db, caf, campaign, opens_at, closes_at))
    click.echo(f"{caf.name}, campagne {campaign.code} : du {format_datetime(window.opens_at, caf.timezone)} "
               f"au {format_datetime(window.closes_at, caf.timezone)}.")


@click.command("purge")
@click.option("--apply", is_flag=True, help="Remove for real (without it: a dry run that lists and changes nothing).")
@with_appcontext
def purge(apply):
    """Remove the personal data past its retention (SURVEY_RETENTION_* settings); a dry run by default."""
    from .. import clock
    from ..operations.purge import purge_personal_data
    config = current_app.config
    report = purge_personal_data(get_session(), clock.now(), contact_months=config["RETENTION_CONTACT_MONTHS"],
                                 account_months=config["RETENTION_ACCOUNT_MONTHS"],
                                 documents=config["PURGE_DOCUMENTS"], upload_dir=config["UPLOAD_DIR"],
                                 sign_in_days=config["RETENTION_SIGN_IN_DAYS"], apply=apply)
    if report.is_empty:
        click.echo("Aucune donnée personnelle à supprimer.")
        return
    verb = "Supprimé" if apply else "Simulation (rien n'est supprimé ; --apply pour supprimer) : seraient supprimés"
    def n(count, one, many):
        return f"{count} {one if count <= 1 else many}"
    click.echo(f"{verb} : adresses de {n(report.contacts, 'contact', 'contacts')}, "
               f"{n(report.links, 'lien personnel', 'liens personnels')}, "
               f"{n(report.email_rows, 'ligne du journal des envois', 'lignes du journal des envois')}, "
               f"{n(report.documents, 'document joint', 'documents joints')}, "
               f"{n(len(report.accounts), 'compte Caf inutilisé', 'comptes Caf inutilisés')}, "
               f"{n(report.sign_in_records, 'trace de connexion', 'traces de connexion')} "
               "(adresse saisie, adresse IP, date).")
    if report.campaigns:
        click.echo("Campagnes fermées depuis plus de " f"{config['RETENTION_CONTACT_MONTHS']} mois : " + ", ".join(report.campaigns))
    for email in report.accounts:
        click.echo(f"  compte : {email}")


# -- emails -------------------------------------------------------------------
def _campaign(db, code):
    from sqlalchemy import select

    from ..errors import DomainError
    from ..models import Campaign
    campaign = db.scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        raise DomainError(f"Aucune campagne n'a le code {code}.")
    return campaign


def _progress(total):
    return click.progressbar(length=total, label="Envoi des messages")


def _show_report(report, dry_run):
    """Print what a send did; exit with 1 if a message failed or the server was unreachable."""
    if dry_run:
        count = len(report.previews)
        click.echo(f"Simulation : {count_of(count, 'message')} {'serait envoyé' if count < 2 else 'seraient envoyés'}. "
                   "Rien n'est envoyé ni enregistré.")
        for preview in report.previews:
            click.echo(f"  {preview.recipient}\t{preview.kind.label}\t{preview.project_reference}\t{preview.subject}")
        return
    click.echo(f"Messages planifiés : {report.planned}. Envoyés : {report.sent}. Échecs : {len(report.failed)}."
               + (f" Relances devenues inutiles : {report.skipped}." if report.skipped else ""))
    for log in report.failed:
        click.echo(f"  Échec : {log.contact.email} ({log.response.project.reference}) : {log.error}", err=True)
    if report.resent:
        click.echo(f"{count_of(report.resent, 'message')} laissé « en cours d'envoi » par un envoi interrompu "
                   "a été renvoyé avec son Message-ID (les messageries éliminent le doublon)."
                   if report.resent < 2 else
                   f"{count_of(report.resent, 'message')} laissés « en cours d'envoi » par un envoi interrompu "
                   "ont été renvoyés avec leur Message-ID (les messageries éliminent les doublons).")
    if report.interrupted:
        left = len(report.interrupted)
        minutes = round(current_app.config["MAIL_RESEND_AFTER_SECONDS"] / 60)
        click.echo(f"{count_of(left, 'message')} {'est' if left < 2 else 'sont'} « en cours d'envoi » par un autre "
                   f"envoi : s'{'il y reste' if left < 2 else 'ils y restent'} {count_of(minutes, 'minute')}, "
                   f"{'il sera renvoyé' if left < 2 else 'ils seront renvoyés'} avec le même Message-ID.", err=True)
        for log in report.interrupted:
            click.echo(f"  {log.contact.email} ({log.response.project.reference}) {log.kind.label} {log.round} "
                       f"{log.message_id or ''}", err=True)
    if report.unavailable:
        click.echo(f"Serveur SMTP injoignable ({report.unavailable}). Les messages restants sont en attente : "
                   "relancez la commande.", err=True)
    if report.failed or report.unavailable:
        sys.exit(1)


def _schedule(_ctx, _param, value):
    try:
        days = sorted({int(part) for part in value.split(",") if part.strip()}, reverse=True)
    except ValueError:
        raise click.BadParameter("a comma-separated list of days, e.g. 14,7,2") from None
    if not days or min(days) < 0:
        raise click.BadParameter("a comma-separated list of days, e.g. 14,7,2")
    return days


CAF_OPTION = click.option("--caf", "caf_number", help="Only the projects of this Caf (its number).")
DRY_RUN_OPTION = click.option("--dry-run", is_flag=True, help="List what would be sent; send and record nothing.")
RETRY_OPTION = click.option("--retry-failed", is_flag=True, help="Also try again the messages that failed before.")


@click.command("send-invitations")
@click.argument("campaign_code")
@CAF_OPTION
@DRY_RUN_OPTION
@RETRY_OPTION
@with_appcontext
def send_invitations(campaign_code, caf_number, dry_run, retry_failed):
    """Email every contact a personal link, once (a rerun sends only what is left)."""
    from .. import clock
    from ..operations import send_invitations as send
    report = _run(lambda db: send(db, _campaign(db, campaign_code), clock.now(), caf_number, dry_run=dry_run,
                                  retry_failed=retry_failed, progress=_progress))
    _show_report(report, dry_run)


@click.command("send-reminders")
@click.argument("campaign_code")
@click.option("--days-before", type=click.IntRange(min=0), required=True,
              help="Names the round (J-14); each contact gets one reminder per round.")
@CAF_OPTION
@DRY_RUN_OPTION
@RETRY_OPTION
@with_appcontext
def send_reminders(campaign_code, days_before, caf_number, dry_run, retry_failed):
    """Remind the contacts of projects not transmitted yet, with a fresh personal link."""
    from .. import clock
    from ..operations import send_reminders as send
    report = _run(lambda db: send(db, _campaign(db, campaign_code), days_before, clock.now(), caf_number,
                                  dry_run=dry_run, retry_failed=retry_failed, progress=_progress))
    _show_report(report, dry_run)


@click.command("send-due-reminders")
@click.argument("campaign_code")
@click.option("--schedule", required=True, callback=_schedule, help="Days before the deadline, e.g. 14,7,2.")
@CAF_OPTION
@DRY_RUN_OPTION
@with_appcontext
def send_due_reminders(campaign_code, schedule, caf_number, dry_run):
    """For cron: send the reminder round whose day has come, if not sent yet."""
    from .. import clock
    from ..operations import send_due_reminders as send
    outcome = _run(lambda db: send(db, _campaign(db, campaign_code), schedule, clock.now(), caf_number,
                                   dry_run=dry_run, progress=_progress))
    failed = False
    for part in [outcome, *outcome.cafs]:
        # Each Caf on its own calendar has its own round; say whose each line is.
        whose = f"Caf {part.caf_number} (calendrier propre) : " if outcome.cafs and part.caf_number else ""
        if part.superseded:
            click.echo(f"{whose}Relances dépassées, non envoyées : "
                       + ", ".join(f"J-{days}" for days in part.superseded) + ".")
        if part.round is None:
            click.echo(f"{whose}Aucune relance à envoyer maintenant.")
            continue
        click.echo(f"{whose}Relance {part.round.label} :")
        try:
            _show_report(part.report, dry_run)
        except SystemExit:
            failed = True  # the other Cafs' rounds still go
    if failed:
        sys.exit(1)


@click.command("send-pending-emails")
@click.argument("campaign_code", required=False)
@DRY_RUN_OPTION
@RETRY_OPTION
@with_appcontext
def send_pending_emails(campaign_code, dry_run, retry_failed):
    """Safety net for cron: send every email still pending, or left sending by a crash (of one campaign, or all)."""
    from .. import clock
    from ..operations import send_pending as send
    report = _run(lambda db: send(db, _campaign(db, campaign_code) if campaign_code else None, clock.now(),
                                  dry_run=dry_run, retry_failed=retry_failed, progress=_progress))
    _show_report(report, dry_run)
