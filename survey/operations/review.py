"""What a Caf does with a response: ask for corrections, validate, reopen, extend, send a new link."""
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..deadline import caf_window, partner_window
from ..engine.answers import find_problems
from ..engine.timefmt import format_datetime
from ..errors import DomainError, FormRefused, IncompleteResponse, StaleVersion
from ..mail.occasions import plan_notice
from ..mail.rounds import NEW_LINK_ROUND, SendReport, new_link_round, send_round
from ..models import (
    CorrectionRequest,
    EmailKind,
    EmailLog,
    EmailStatus,
    EventKind,
    Response,
    ResponseEvent,
    ResponseState,
    ReviewNote,
    User,
)
from .answering import Actor, flush_then_commit, response_definition

STALE = "Ce bilan a été modifié entre-temps : relisez-le avant de recommencer."
MESSAGE_MAX = 2000
DOUBLE_CLICK = timedelta(minutes=1)


def _check_version(response: Response, expected_version):
    if expected_version != response.version:
        raise StaleVersion(STALE)


def _commit(db: Session, *events, also=None):
    try:
        flush_then_commit(db, *events, also=also)
    except StaleDataError:
        db.rollback()
        raise StaleVersion(STALE) from None


def request_correction(db: Session, response: Response, user: User, items: list[dict], until: datetime | None,
                       expected_version, now: datetime) -> CorrectionRequest:
    """Ask the partner to correct some questions, each with a message, until ``until``.

    The partner may edit until then, even after the campaign's deadline.
    Refused with every field's error at once (:class:`FormRefused`); ``until``
    None stands for a date that could not be read.
    """
    _check_version(response, expected_version)
    definition = response_definition(response)
    errors = {}
    if not items:
        errors["questions"] = "Choisissez au moins une question à faire corriger."
    for item in items:
        if item["code"] not in definition.questions:
            errors["questions"] = "Une des questions choisies n'existe pas dans ce questionnaire."
        elif not item["message"].strip():
            label = definition.questions[item["code"]].label
            errors[f"message-{item['code']}"] = f"Écrivez un message pour la question « {label} »."
        elif len(item["message"]) > MESSAGE_MAX:
            errors[f"message-{item['code']}"] = f"Un message compte au plus {MESSAGE_MAX} caractères."
    if until is None:
        errors["until"] = "Indiquez une date valide (jj/mm/aaaa)."
    elif until <= now:
        errors["until"] = "La date limite de correction doit être dans le futur."
    if errors:
        raise FormRefused(errors)
    request = CorrectionRequest(requested_by_id=user.id, requested_at=now, until=until,
                                items=[{"code": i["code"], "message": i["message"].strip()} for i in items])
    response.request_correction(request)
    _commit(db, Actor(user=user).event(response, EventKind.CORRECTION_REQUESTED, now, new_value=request.items,
                                       reason=f"jusqu'au {until.isoformat()}"))
    return request


def validate_response(db: Session, response: Response, user: User, expected_version, now: datetime):
    """Validate a complete, valid response; it is then locked for everyone.

    The partner's contacts are told by email: planned in the same transaction,
    sent after the commit (:func:`survey.mail.occasions.send_receipt`).
    """
    _check_version(response, expected_version)
    event, label = _validation(response, user, now)
    _commit(db, event, also=lambda db: plan_notice(db, response, EmailKind.VALIDATED, label, now))


def _validation(response: Response, user: User, now: datetime) -> tuple[ResponseEvent, str]:
    """Validate in memory: the history line, and the label of the email's occasion."""
    problems = find_problems(response_definition(response), response.answers, response.invalid)
    if problems:
        raise IncompleteResponse("Ce bilan ne peut pas être validé : des réponses manquent ou sont à corriger.", problems)
    label = f"validation-{response.version}"  # each validation moves the version: one email per validation
    response.validate(now, user.id)
    return Actor(user=user).event(response, EventKind.VALIDATED, now), label


@dataclass
class BulkValidation:
    """What :func:`validate_responses` did: the responses validated, and those left with the reason."""

    validated: list[Response] = field(default_factory=list)
    refused: list[tuple[Response, str]] = field(default_factory=list)


def validate_responses(db: Session, responses: list[Response], user: User, versions: dict[int, int],
                       now: datetime) -> BulkValidation:
    """Validate several transmitted responses at once, each exactly as :func:`validate_response` would.

    Each response has its history line and its partner's email; one that is not
    transmitted, incomplete, or changed since the list was shown (``versions``)
    is left as it is, with the reason. One transaction for all.
    """
    outcome = BulkValidation()
    events = []
    for response in responses:
        if response.state is not ResponseState.SUBMITTED:
            outcome.refused.append((response, f"il est {response.state.label}"))
        elif versions.get(response.id) != response.version:
            outcome.refused.append((response, "il a été modifié depuis l'affichage de la liste"))
        else:
            try:
                events.append((response, _validation(response, user, now)))
            except DomainError as exc:
                outcome.refused.append((response, exc.message))
                continue
            outcome.validated.append(response)
    if not events:
        db.rollback()
        return outcome

    def plan_notices(db):
        for response, (_, label) in events:
            plan_notice(db, response, EmailKind.VALIDATED, label, now)
    _commit(db, *(event for _, (event, _) in events), also=plan_notices)
    return outcome


def reopen_response(db: Session, response: Response, user: User, reason: str, expected_version, now: datetime):
    """An administrator reopens a validated response, with a reason kept in the history."""
    if not user.is_admin:
        raise DomainError("Seul un administrateur peut rouvrir un bilan validé.")
    if not (reason or "").strip():
        raise DomainError("Indiquez la raison de la réouverture.")
    _check_version(response, expected_version)
    version = response.version
    response.reopen()
    _commit(db, Actor(user=user).event(response, EventKind.REOPENED, now, reason=reason.strip()),
            also=lambda db: plan_notice(db, response, EmailKind.REOPENED, f"reouverture-{version}", now))


NOTE_MAX = 5000


def add_note(db: Session, response: Response, user: User, text: str, now: datetime) -> ReviewNote:
    """A private note of the Caf on the response, dated and signed; the partner never sees it."""
    text = (text or "").strip()
    if not text:
        raise FormRefused({"note": "Écrivez la note avant de l'enregistrer."})
    if len(text) > NOTE_MAX:
        raise FormRefused({"note": f"Une note compte au plus {NOTE_MAX} caractères ; celle-ci en compte {len(text)}."})
    note = ReviewNote(response_id=response.id, author_id=user.id, written_at=now, text=text)
    db.add(note)
    db.commit()
    return note


def notes_of(db: Session, response: Response) -> list[ReviewNote]:
    """The Caf's private notes on the response, oldest first."""
    return list(db.scalars(select(ReviewNote).where(ReviewNote.response_id == response.id)
                           .order_by(ReviewNote.written_at, ReviewNote.id)))


def extend_deadline(db: Session, response: Response, user: User, until: datetime, reason: str, expected_version,
                    now: datetime):
    """Give this project alone more time: after the campaign's deadline, or to finish an open correction."""
    if not (reason or "").strip():
        raise DomainError("Indiquez la raison du délai supplémentaire.")
    correction = response.open_correction
    if correction is not None:
        if until <= now or until <= correction.until:
            raise DomainError("Le nouveau délai de correction doit être postérieur au délai actuel et à maintenant.")
    elif until <= caf_window(response)[1] or until <= now:
        raise DomainError("Le nouveau délai doit être postérieur à la date limite de la campagne et à maintenant.")
    _check_version(response, expected_version)
    reason = reason.strip()
    if correction is not None:
        old, correction.until = correction.until, until
        flag_modified(response, "extended_until")  # the response's version moves: a stale form is refused
        reason = f"Délai de correction : {reason}"
    else:
        old, response.extended_until = response.extended_until, until
    _commit(db, Actor(user=user).event(response, EventKind.EXTENDED, now, old_value=old.isoformat() if old else None,
                                       new_value=until.isoformat(), reason=reason))


def send_new_link(db: Session, response: Response, user: User, now: datetime) -> SendReport:
    """A fresh personal link, now, to every contact of the project: for a partner who lost theirs.

    The invitation's message, with the partner's current time limit; links sent
    before stay valid; the request is kept in the history. Refused when the
    partner could not answer with it. A link an unreachable SMTP server held
    back leaves instead of a new one, and a request within a minute of the
    last (a double click) sends nothing more.
    """
    if response.state is ResponseState.VALIDATED:
        raise DomainError("Ce bilan est validé : le partenaire n'a plus rien à y faire, aucun lien n'est envoyé.")
    if response.state is ResponseState.SUBMITTED:
        raise DomainError("Ce bilan est transmis : le partenaire ne peut plus le modifier, aucun lien n'est envoyé "
                          "(demandez-lui une correction s'il doit y revenir).")
    window = partner_window(response)
    if window.has_closed(now):
        what = "Le délai de correction accordé au partenaire" if window.is_correction_delay else "Le délai du partenaire"
        raise DomainError(f"{what} a pris fin le {format_datetime(window.closes_at, window.timezone)} : "
                          "accordez-lui d'abord un délai supplémentaire, puis envoyez le lien.")
    contacts = response.project.current_contacts
    if not contacts:
        raise DomainError("Ce projet n'a aucun contact : importez-en un avant d'envoyer un lien.")
    # One request at a time per response: the check and the history line below go together.
    db.execute(select(Response.id).where(Response.id == response.id).with_for_update())
    last = db.scalar(select(ResponseEvent.at).where(ResponseEvent.response_id == response.id,
                                                    ResponseEvent.kind == EventKind.LINK_SENT)
                     .order_by(ResponseEvent.id.desc()).limit(1))
    if last is not None and last > now - DOUBLE_CLICK:
        db.rollback()
        return SendReport()
    held_back = db.scalar(select(EmailLog.round).where(
        EmailLog.response_id == response.id, EmailLog.kind == EmailKind.INVITATION,
        EmailLog.round.startswith(NEW_LINK_ROUND), EmailLog.status == EmailStatus.PENDING).limit(1))
    _commit(db, Actor(user=user).event(response, EventKind.LINK_SENT, now,
                                       new_value=", ".join(contact.email for contact in contacts)))
    # A link the SMTP server could not take leaves now (with any contact added since) instead of a new one.
    round_ = new_link_round(response, user.id, now)
    return send_round(db, replace(round_, label=held_back) if held_back else round_, now)
