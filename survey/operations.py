"""Every write of the domain. Views and commands call these; nothing else writes."""
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import uploads
from .access import hash_token, new_token
from .answers import find_problems, is_visible, prefilled_answers, prune_hidden, rule_errors
from .definition import Definition, Page, definition_for
from .errors import IllegalTransition, IncompleteResponse, QuestionnaireClosed, StaleVersion
from .models import AccessLink, Caf, Campaign, Contact, Project, Response
from .timefmt import format_datetime

STALE_MESSAGE = (
    "Ce bilan a été modifié ailleurs (par un autre contact ou dans un autre onglet) depuis que vous avez ouvert "
    "cette page. Vos saisies n'ont pas été enregistrées : elles sont affichées ci-dessous. "
    "Vérifiez-les puis enregistrez de nouveau."
)


def response_definition(response: Response) -> Definition:
    return definition_for(response.campaign.definition_content)


def ensure_partner_can_edit(response: Response, now: datetime):
    """Refuse any partner write outside the campaign's window or after transmission."""
    campaign, tz = response.campaign, response.project.caf.timezone
    if response.is_submitted:
        raise IllegalTransition("Ce bilan a déjà été transmis à la Caf : il ne peut plus être modifié.")
    if now < campaign.opens_at:
        raise QuestionnaireClosed(f"Le questionnaire n'est pas encore ouvert : il ouvrira le {format_datetime(campaign.opens_at, tz)}.")
    if campaign.has_closed(now):
        raise QuestionnaireClosed(
            f"Le questionnaire est fermé depuis le {format_datetime(campaign.closes_at, tz)}. "
            "Vos réponses enregistrées sont conservées, mais elles ne peuvent plus être modifiées ni transmises."
        )


# -- campaigns and projects ---------------------------------------------------

def create_campaign(db: Session, code: str, content: dict, opens_at: datetime, closes_at: datetime, title=None) -> Campaign:
    """Create a campaign that keeps its own copy of the definition's JSON."""
    definition = definition_for(content)
    campaign = Campaign(
        code=code, title=title or definition.title, definition_code=definition.code,
        definition_version=definition.version, definition_content=content,
        opens_at=opens_at, closes_at=closes_at,
    )
    db.add(campaign)
    db.flush()
    return campaign


def get_or_create_caf(db: Session, number: str, name: str, timezone="Europe/Paris") -> Caf:
    caf = db.scalar(select(Caf).where(Caf.number == number))
    if caf is None:
        caf = Caf(number=number, name=name, timezone=timezone)
        db.add(caf)
        db.flush()
    return caf


def project_context(project: Project) -> dict:
    """What the import knows of a project, offered as prefilled answers."""
    return {
        "structure_name": project.structure_name,
        "siret": project.siret,
        "siren": project.siret[:9] if project.siret else None,
        "caf_name": project.caf.name,
        "caf_number": project.caf.number,
        "commune": project.commune,
    }


def enrol_project(db: Session, campaign: Campaign, project: Project) -> Response:
    """The project's response for the campaign, created (prefilled) if absent."""
    response = db.scalar(select(Response).where(Response.campaign_id == campaign.id, Response.project_id == project.id))
    if response is None:
        definition = definition_for(campaign.definition_content)
        response = Response(
            campaign=campaign, project=project, definition_version=definition.version,
            answers=prefilled_answers(definition, project_context(project)), invalid={},
        )
        db.add(response)
        db.flush()
    return response


def issue_link(db: Session, contact: Contact, response: Response) -> str:
    """Create a personal link; returns the token, which is never stored."""
    token = new_token()
    db.add(AccessLink(token_hash=hash_token(token), contact=contact, response=response))
    db.flush()
    return token


def revoke_link(link: AccessLink, now: datetime):
    link.revoked_at = link.revoked_at or now


def open_link(db: Session, link: AccessLink, now: datetime):
    link.last_used_at = now
    db.commit()


# -- answering ------------------------------------------------------------------

@dataclass
class PageSave:
    """What saving a page did: the errors to show back (code -> messages)."""

    errors: dict[str, list[str]] = field(default_factory=dict)


def _apply(answers, invalid, errors, code, outcome, keeps_invalid):
    if outcome.errors:
        errors[code] = list(outcome.errors)
        answers.pop(code, None)
        if keeps_invalid and outcome.raw:
            invalid[code] = {"value": outcome.raw, "errors": list(outcome.errors)}
        else:
            invalid.pop(code, None)
        return
    invalid.pop(code, None)
    if outcome.value is None:
        answers.pop(code, None)
    else:
        answers[code] = outcome.value


def save_page(db: Session, response: Response, page: Page, form, now: datetime, upload_dir: str, max_upload: int) -> PageSave:
    """Save what a page's form holds, valid or not, and commit.

    Valid values go to ``answers``; a free-text value that fails a check is
    kept in ``invalid`` with its message, so nothing typed is lost. Raises
    :class:`StaleVersion` if the form was opened on an older version.
    """
    ensure_partner_can_edit(response, now)
    if form.expected_version() != response.version:
        raise StaleVersion(STALE_MESSAGE)
    definition = response_definition(response)
    answers, invalid = dict(response.answers), dict(response.invalid)
    result = PageSave()
    form.validate()
    stored, discarded = [], []
    try:
        for question in page.questions:
            if not is_visible(question, answers):
                continue
            outcome = question.read(form)
            if question.is_upload:
                _apply_upload(question, outcome, answers, result, stored, discarded, upload_dir, max_upload)
                continue
            _apply(answers, invalid, result.errors, question.code, outcome, question.keeps_invalid)
            for code, sub in outcome.extra.items():
                _apply(answers, invalid, result.errors, code, sub, True)
        prune_hidden(definition, answers, invalid)
        for code, message in rule_errors(definition, answers).items():
            if any(code in q.owned_codes() for q in page.questions):
                result.errors.setdefault(code, []).append(message)
        response.record_edit(answers, invalid, now)
        db.commit()
    except StaleDataError:
        db.rollback()
        _delete_files(upload_dir, stored)
        raise StaleVersion(STALE_MESSAGE) from None
    except BaseException:
        db.rollback()
        _delete_files(upload_dir, stored)
        raise
    # Only once the new answers are committed may the replaced files go.
    _delete_files(upload_dir, discarded)
    return result


def _apply_upload(question, outcome, answers, result, stored, discarded, upload_dir, max_upload):
    previous = answers.get(question.code)
    if outcome.raw is None:
        return
    if outcome.raw == "remove":
        answers.pop(question.code, None)
    else:
        try:
            new_file = uploads.store_upload(outcome.raw, upload_dir, max_upload)
        except uploads.UploadRefused as refused:
            result.errors[question.code] = [refused.message]
            return
        stored.append(new_file.key)
        answers[question.code] = new_file.as_answer()
    if previous:
        discarded.append(previous["key"])


def _delete_files(upload_dir, keys):
    for key in keys:
        uploads.delete_stored(upload_dir, key)


def new_receipt() -> str:
    return f"BQ-{secrets.token_hex(5).upper()}"


def submit_response(db: Session, response: Response, expected_version: int | None, now: datetime) -> Response:
    """Transmit a complete, valid response to its Caf.

    Exactly one of two simultaneous transmissions wins; the other raises
    :class:`IllegalTransition` (already transmitted) or :class:`StaleVersion`.
    """
    ensure_partner_can_edit(response, now)
    if expected_version != response.version:
        raise StaleVersion(
            "Ce bilan a été modifié ailleurs depuis que vous avez ouvert le récapitulatif : "
            "relisez-le avant de le transmettre."
        )
    problems = find_problems(response_definition(response), response.answers, response.invalid)
    if problems:
        raise IncompleteResponse("Le bilan ne peut pas encore être transmis : des réponses manquent ou sont à corriger.", problems)
    response.mark_submitted(now, new_receipt())
    try:
        db.commit()
    except StaleDataError:
        db.rollback()
        db.refresh(response)
        if response.is_submitted:
            raise IllegalTransition("Ce bilan vient d'être transmis à la Caf par un autre contact.") from None
        raise StaleVersion("Ce bilan a été modifié ailleurs : relisez-le avant de le transmettre.") from None
    return response
