"""Emails to partners: every message is planned as an :class:`EmailLog` row, then sent at most once.

Planning writes one ``pending`` row per contact and occasion (the unique
constraint makes planning twice harmless). Sending claims a row (``sending``)
and commits *before* talking to the SMTP server, then records ``sent`` or
``failed``. A run that dies in between leaves the row ``sending``: later runs
report it and never resend it, so nobody gets a message twice.
"""
import logging
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from . import choosing, messages
from ..deadline import AWAITING_PARTNER, awaits_partner, caf_windows, partner_window
from ..errors import DomainError
from ..models import (
    Caf,
    Campaign,
    Contact,
    CorrectionRequest,
    EmailKind,
    EmailLog,
    EmailStatus,
    Project,
    Response,
    ResponseState,
)
from ..models.types import utcnow
from ..links import issue_link

logger = logging.getLogger(__name__)

INVITATION_ROUND = "invitation"
# A Caf's new link to one project: an invitation of its own, "lien-<user id>-<time>".
NEW_LINK_ROUND = "lien-"
REMINDED_STATES = tuple(AWAITING_PARTNER)
# Reminder moments are counted in days before the deadline's day, in this zone
# unless the round is one Caf's (then the Caf's own zone).
NATIONAL_TIMEZONE = "Europe/Paris"
_WITH_LINK = (EmailKind.INVITATION, EmailKind.REMINDER, EmailKind.CORRECTION)


@dataclass(frozen=True)
class Round:
    """One occasion of sending: a kind and a label, over a campaign (one Caf's, or one response's)."""

    campaign: Campaign
    kind: EmailKind
    label: str
    caf_number: str | None = None
    days_before: int | None = None
    response_id: int | None = None
    # Cafs left out of a national round: those on their own calendar get their own rounds.
    other_cafs: tuple[str, ...] = ()
    # From the Caf's pages: a project already reminded today (any round) is not reminded again.
    once_a_day: bool = False


def invitation_round(campaign: Campaign, caf_number: str | None = None) -> Round:
    """Invitations share one label: a contact is invited once, whoever launched it."""
    return Round(campaign, EmailKind.INVITATION, INVITATION_ROUND, caf_number)


def reminder_round(campaign: Campaign, days_before: int, caf_number: str | None = None) -> Round:
    """``J-14`` for everyone, ``J-14/731`` for the projects of Caf 731 only."""
    if days_before < 0:
        raise DomainError("Le nombre de jours avant la date limite ne peut pas être négatif.")
    label = f"J-{days_before}" + (f"/{caf_number}" if caf_number else "")
    return Round(campaign, EmailKind.REMINDER, label, caf_number, days_before)


def new_link_round(response: Response, user_id: int, now: datetime) -> Round:
    return Round(response.campaign, EmailKind.INVITATION, f"{NEW_LINK_ROUND}{user_id}-{now:%Y%m%dT%H%M%S}",
                 response_id=response.id)


def _waits_on_partner(log: EmailLog) -> bool:
    """Reminders and a Caf's new links only make sense while the partner can still answer."""
    return log.kind is EmailKind.REMINDER or (log.kind is EmailKind.INVITATION and log.round.startswith(NEW_LINK_ROUND))


@dataclass(frozen=True)
class Preview:
    """One message a dry run would send."""

    recipient: str
    kind: EmailKind
    round: str
    subject: str
    project_reference: str


@dataclass
class SendReport:
    """What a run did. ``interrupted`` rows were left ``sending`` by an earlier run."""

    planned: int = 0
    sent: int = 0
    skipped: int = 0
    failed: list[EmailLog] = field(default_factory=list)
    interrupted: list[EmailLog] = field(default_factory=list)
    # Set when the SMTP server could not be reached: the rest of a batch stays pending.
    unavailable: str | None = None
    previews: list[Preview] = field(default_factory=list)


# -- planning ---------------------------------------------------------------
# Every row would otherwise carry the campaign's whole definition; the
# campaign is in the session already, so loading it lazily costs no query.
_ONE_CAMPAIGN = lazyload(Response.campaign)


def _logs():
    return select(EmailLog).options(joinedload(EmailLog.response).lazyload(Response.campaign))


# What deciding and previewing a message reads of a response: its state and
# deadline, never its answers (a long bilan each).
_NO_ANSWERS = (defer(Response.answers), defer(Response.invalid))


def _corrections_of(db: Session, response_ids) -> dict[int, list[CorrectionRequest]]:
    """The correction requests of the responses ``response_ids`` selects, by response, in one statement.

    ``response_ids`` is a select of ids (a subquery: no bound parameter per
    response). With :func:`_with_corrections`, reading each response's
    correction delay (:func:`awaits_partner`, a reminder's subject) costs no
    query of its own.
    """
    found: dict[int, list[CorrectionRequest]] = {}
    query = (select(CorrectionRequest).where(CorrectionRequest.response_id.in_(response_ids))
             .order_by(CorrectionRequest.id))
    for request in db.scalars(query):
        found.setdefault(request.response_id, []).append(request)
    return found


def _with_corrections(response: Response, corrections: dict[int, list[CorrectionRequest]]) -> Response:
    """``response``, given its correction requests from ``corrections`` if it awaits a correction."""
    if response.state is ResponseState.CORRECTION_REQUESTED and "correction_requests" in inspect(response).unloaded:
        set_committed_value(response, "correction_requests", corrections.get(response.id, []))
    return response


# Candidates and planned messages are read in batches: a national round holds
# thousands, never all in memory at once.
_BATCH = 500


def _candidates(db: Session, round_: Round, now: datetime) -> Iterator[tuple[Contact, Response]]:
    """(contact, response) pairs the round concerns that have no row for it yet (:func:`.choosing.candidates`)."""
    query = choosing.candidates(db, round_, now).options(_ONE_CAMPAIGN, *_NO_ANSWERS)
    corrections = {}
    if round_.kind is EmailKind.REMINDER:  # a reminder's subject reads the deadline: Caf windows, correction delay
        caf_windows(db, round_.campaign.id)
        corrections = _corrections_of(db, query.with_only_columns(Response.id, maintain_column_froms=True)
                                      .order_by(None).where(Response.state == ResponseState.CORRECTION_REQUESTED))
    for contact, response in db.execute(query.execution_options(yield_per=_BATCH)):
        yield contact, _with_corrections(response, corrections)


def plan(db: Session, round_: Round, now: datetime) -> int:
    """Write a ``pending`` row for every contact the round concerns and who has none yet; commit.

    Returns how many rows were added. Planning again adds only what is new
    (a contact imported since, for instance).
    """
    try:
        return _plan_once(db, round_, now)
    except IntegrityError:
        # Another run planned some of the same rows at the same moment.
        db.rollback()
        return _plan_once(db, round_, now)


def _plan_once(db, round_, now):
    if round_.once_a_day:
        # Two reviewers launching reminders at once must not both find a project not yet reminded today.
        db.execute(select(Campaign.id).where(Campaign.id == round_.campaign.id).with_for_update())
    pairs = [(contact.id, response.id) for contact, response in _candidates(db, round_, now)]
    if pairs:  # one bulk statement (the ORM would insert row by row where it must read back each new id)
        db.execute(insert(EmailLog), [
            {"kind": round_.kind, "round": round_.label, "contact_id": contact_id, "response_id": response_id,
             "status": EmailStatus.PENDING, "planned_at": now} for contact_id, response_id in pairs])
    db.commit()
    return len(pairs)


def round_logs(round_: Round):
    query = (_logs()
             .join(Response, EmailLog.response_id == Response.id)
             .where(Response.campaign_id == round_.campaign.id, EmailLog.kind == round_.kind,
                    EmailLog.round == round_.label)
             .order_by(EmailLog.id))
    if round_.caf_number:
        query = (query.join(Project, Response.project_id == Project.id).join(Caf, Project.caf_id == Caf.id)
                 .where(Caf.number == round_.caf_number))
    if round_.response_id:
        query = query.where(Response.id == round_.response_id)
    return query


def pending_logs():
    """STUB (branch mailweb), for Outbox.wake: every pending row, oldest first."""
    return _logs().where(EmailLog.status == EmailStatus.PENDING).order_by(EmailLog.id)


def was_planned(db: Session, round_: Round) -> bool:
    """Whether any message of the round was ever planned (whatever became of it)."""
    return db.scalar(round_logs(round_).limit(1)) is not None


# -- sending ----------------------------------------------------------------
def _no_longer_due(db: Session, log: EmailLog, now: datetime) -> str | None:
    """Why a planned message should not leave any more, if it should not."""
    if log.kind is EmailKind.INVITATION and log.round == INVITATION_ROUND:
        db.refresh(log.response)
        if log.response.state in choosing.NOT_INVITED:
            return f"plus d’invitation : bilan {log.response.state.label} entre-temps"
        return None
    if not _waits_on_partner(log):
        return None
    response = log.response
    db.refresh(response)
    what = "relance" if log.kind is EmailKind.REMINDER else "nouveau lien"
    if response.state not in REMINDED_STATES:
        return f"plus de {what} : bilan {response.state.label} entre-temps"
    if partner_window(response).has_closed(now):
        return f"plus de {what} : le délai de réponse est passé"
    correction = response.open_correction
    if log.kind is EmailKind.INVITATION and correction is not None and log.planned_at < correction.requested_at:
        return "plus de nouveau lien : la demande de correction, arrivée depuis, en portait un"
    return None


def _settle(db: Session, log: EmailLog, from_statuses, **values) -> bool:
    """Move ``log`` to new values if it is still in one of ``from_statuses``; commit."""
    result = db.execute(update(EmailLog).where(EmailLog.id == log.id, EmailLog.status.in_(from_statuses))
                        .values(**values))
    db.commit()
    return result.rowcount == 1


def _claim(db: Session, log: EmailLog, claimable, message_id: str) -> bool:
    """Mark the row ``sending``, with the Message-ID it will carry, if nobody else did; the caller commits."""
    result = db.execute(update(EmailLog).where(EmailLog.id == log.id, EmailLog.status.in_(claimable))
                        .values(status=EmailStatus.SENDING, attempted_at=utcnow(), error=None, message_id=message_id))
    if result.rowcount != 1:
        db.rollback()
        return False
    return True


def _compose(db: Session, log: EmailLog, link: str | None):
    request = None
    if log.kind is EmailKind.CORRECTION:
        request = db.get(CorrectionRequest, int(log.round.removeprefix("correction-")))
    return messages.compose(log.kind, log.response, log.contact.email, link, request, log.message_id)


def _personal_link(db: Session, log: EmailLog) -> str:
    token = issue_link(db, log.contact, log.response)
    return f"{current_app.config['BASE_URL'].rstrip('/')}/r/{token}"


def deliver(db: Session, logs: list[EmailLog], now: datetime, report: SendReport | None = None, *,
            retry_failed: bool = False, throttle: messages.Throttle | None = None, stop_when_unavailable: bool = True,
            progress: Callable | None = None) -> SendReport:
    """Send each row still ``pending`` (or ``failed`` with ``retry_failed``), at most once.

    For each row: mark it ``sending``, create its personal link, commit; then
    talk to the SMTP server; then mark it ``sent`` or ``failed`` (with the
    server's reason) and commit. A reminder no longer due is ``skipped``.
    When the server cannot be reached, a batch (``stop_when_unavailable``)
    stops and leaves its rows as they were (the first one notes the reason);
    otherwise every remaining row is ``failed`` with that reason.
    ``progress(total)`` may return a click progress bar.
    """
    report = report if report is not None else SendReport()
    claimable = [EmailStatus.PENDING] + ([EmailStatus.FAILED] if retry_failed else [])
    bar = progress(len(logs)) if progress is not None and logs else None
    with messages.Postman(current_app.config) as postman, (bar if bar is not None else nullcontext()):
        for log in logs:
            keep_going = _deliver_one(db, postman, log, now, claimable, throttle, report, stop_when_unavailable)
            if bar is not None:
                bar.update(1)
            if not keep_going:
                break
    return report


def _deliver_one(db, postman, log, now, claimable, throttle, report, stop_when_unavailable) -> bool:
    if report.unavailable:
        if _settle(db, log, claimable, status=EmailStatus.FAILED, error=report.unavailable):
            report.failed.append(log)
        return True
    reason = _no_longer_due(db, log, now)
    if reason:
        if _settle(db, log, claimable, status=EmailStatus.SKIPPED, error=reason):
            report.skipped += 1
        return True
    if throttle is not None:
        throttle.wait()
    try:
        postman.connect()
    except messages.SmtpUnavailable as exc:
        report.unavailable = str(exc)
        if stop_when_unavailable:
            # Nothing was attempted: the row keeps its status, with the reason, for the next run.
            _settle(db, log, claimable, error=report.unavailable)
            return False
        if _settle(db, log, claimable, status=EmailStatus.FAILED, error=report.unavailable):
            report.failed.append(log)
        return True
    if not _claim(db, log, claimable, messages.new_message_id()):
        return True
    try:
        link = _personal_link(db, log) if log.kind in _WITH_LINK else None
        message = _compose(db, log, link)
        db.commit()
    except Exception as exc:  # a broken template or row must not stop the other messages
        db.rollback()
        logger.exception("email %s could not be composed", log.id)
        if _settle(db, log, claimable, status=EmailStatus.FAILED, error=f"message impossible à composer : {exc}"):
            report.failed.append(log)
        return True
    try:
        postman.send(message)
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the server did not accept this message
        # (smtplib turns the message into bytes before its first command, and a
        # refusal or a broken connection leaves it unsent): a failure to retry,
        # never a row left "sending".
        log.status, log.error = EmailStatus.FAILED, messages.describe_error(exc)
        db.commit()
        report.failed.append(log)
        return True
    log.status, log.sent_at = EmailStatus.SENT, utcnow()
    db.commit()
    report.sent += 1
    return True


def send_round(db: Session, round_: Round, now: datetime, *, dry_run: bool = False, retry_failed: bool = False,
               plan_new: bool = True, progress: Callable | None = None) -> SendReport:
    """Plan the round (unless ``plan_new`` is false), then send its pending messages, throttled.

    A dry run sends nothing and writes nothing: its report lists the messages
    (recipient, kind, subject) a real run would send now.
    """
    statuses = [EmailStatus.PENDING] + ([EmailStatus.FAILED] if retry_failed else [])
    if dry_run:
        return SendReport(previews=_previews(db, round_, now, statuses, plan_new))
    report = SendReport(planned=plan(db, round_, now) if plan_new else 0)
    report.interrupted = list(db.scalars(round_logs(round_).where(EmailLog.status == EmailStatus.SENDING)))
    logs = list(db.scalars(round_logs(round_).where(EmailLog.status.in_(statuses))))
    throttle = messages.Throttle(current_app.config["MAIL_PER_SECOND"])
    return deliver(db, logs, now, report, retry_failed=retry_failed, throttle=throttle, progress=progress)


def _preview(contact: Contact, response: Response, kind: EmailKind, label: str) -> Preview:
    return Preview(contact.email, kind, label, messages.subject_for(kind, response), response.project.reference)


def _previews(db, round_, now, statuses, plan_new) -> list[Preview]:
    query = round_logs(round_).where(EmailLog.status.in_(statuses))
    previews = _planned_previews(db, query, now)
    if plan_new:
        previews += [_preview(contact, response, round_.kind, round_.label)
                     for contact, response in _candidates(db, round_, now)]
    return previews


def _planned_previews(db: Session, query, now: datetime) -> list[Preview]:
    """The previews of the planned messages ``query`` selects that would still leave now."""
    corrections = _corrections_of(db, query.with_only_columns(EmailLog.response_id, maintain_column_froms=True)
                                  .order_by(None))
    logs = db.scalars(query.options(joinedload(EmailLog.response).options(*_NO_ANSWERS))
                      .execution_options(yield_per=_BATCH))
    previews = []
    for log in logs:
        _with_corrections(log.response, corrections)
        if _due_in_preview(log, now):
            previews.append(_preview(log.contact, log.response, log.kind, log.round))
    return previews


def _due_in_preview(log: EmailLog, now: datetime) -> bool:
    """As :func:`_no_longer_due`, without refreshing anything."""
    return not _waits_on_partner(log) or awaits_partner(log.response, now)


def send_pending(db: Session, campaign: Campaign, now: datetime, *, dry_run: bool = False, retry_failed: bool = False,
                 progress: Callable | None = None) -> SendReport:
    """Send whatever is left ``pending`` in the campaign, of any kind (e.g. receipts the server refused)."""
    statuses = [EmailStatus.PENDING] + ([EmailStatus.FAILED] if retry_failed else [])
    query = (_logs().join(Response, EmailLog.response_id == Response.id)
             .where(Response.campaign_id == campaign.id).order_by(EmailLog.id))
    if dry_run:
        return SendReport(previews=_planned_previews(db, query.where(EmailLog.status.in_(statuses)), now))
    logs = list(db.scalars(query.where(EmailLog.status.in_(statuses))))
    report = SendReport(interrupted=list(db.scalars(query.where(EmailLog.status == EmailStatus.SENDING))))
    throttle = messages.Throttle(current_app.config["MAIL_PER_SECOND"])
    return deliver(db, logs, now, report, retry_failed=retry_failed, throttle=throttle, progress=progress)
