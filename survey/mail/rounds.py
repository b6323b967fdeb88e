"""Emails to partners: every message is planned as an :class:`EmailLog` row, then sent by :mod:`.delivery`.

Planning writes one ``pending`` row per contact and occasion (the unique
constraint makes planning twice harmless). A command sends a round at once
(:func:`send_round`); a page plans it, commits and wakes the process's
outbox, which sends it in the background. A Caf's pages follow a round with
:func:`round_progress` and put failed messages back in line with :func:`resend`.
"""
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..deadline import awaits_partner, caf_windows
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
from . import choosing, messages
from .delivery import (  # noqa: F401 - also this module's names, for the views and commands
    NEW_LINK_ROUND,
    REMINDED_STATES,
    Preview,
    SendReport,
    deliver,
    deliver_due,
    interrupted,
    waits_on_partner,
)

logger = logging.getLogger(__name__)

INVITATION_ROUND = "invitation"
# Reminder moments are counted in days before the deadline's day, in this zone
# unless the round is one Caf's (then the Caf's own zone).
NATIONAL_TIMEZONE = "Europe/Paris"


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


_REMINDER_LABEL = re.compile(r"J-([0-9]{1,3})(?:/(.+))?")


def parse_reminder_label(label: str) -> tuple[int, str | None] | None:
    """(days before the deadline, Caf number or None) of a label :func:`reminder_round` wrote; None for another."""
    match = _REMINDER_LABEL.fullmatch(label)
    return (int(match[1]), match[2]) if match else None


def new_link_round(response: Response, user_id: int, now: datetime) -> Round:
    return Round(response.campaign, EmailKind.INVITATION, f"{NEW_LINK_ROUND}{user_id}-{now:%Y%m%dT%H%M%S}",
                 response_id=response.id)


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


def plan(db: Session, round_: Round, now: datetime, locked: bool = False) -> int:
    """Write a ``pending`` row for every contact the round concerns and who has none yet; commit.

    Returns how many rows were added. Planning again adds only what is new
    (a contact imported since, for instance). ``locked``: the caller's transaction
    already holds :func:`lock_campaign`.
    """
    try:
        return _plan_once(db, round_, now, locked)
    except IntegrityError:
        # Another run planned some of the same rows at the same moment; the rollback released the lock.
        db.rollback()
        return _plan_once(db, round_, now, locked=False)


def _plan_once(db, round_, now, locked):
    if round_.once_a_day and not locked:
        lock_campaign(db, round_.campaign.id)
    pairs = [(contact.id, response.id) for contact, response in _candidates(db, round_, now)]
    if pairs:  # one bulk statement (the ORM would insert row by row where it must read back each new id)
        db.execute(insert(EmailLog), [
            {"kind": round_.kind, "round": round_.label, "contact_id": contact_id, "response_id": response_id,
             "status": EmailStatus.PENDING, "planned_at": now} for contact_id, response_id in pairs])
    db.commit()
    return len(pairs)


def lock_campaign(db: Session, campaign_id: int):
    """Two reviewers launching reminders at once must not both find a project not yet reminded today: the second
    waits here until the first has committed its rows, then reads them. PostgreSQL locks the campaign's row;
    SQLite knows no row locks and reads outside a transaction, so a write that changes nothing takes its
    database-wide write lock (waiting up to its busy timeout) before the candidates are read."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(update(Campaign).where(Campaign.id == campaign_id).values(id=Campaign.id))
    else:
        db.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())


def _in_round(query, round_: Round):
    """``query`` (over :class:`EmailLog`) narrowed to the round's rows."""
    query = (query.join(Response, EmailLog.response_id == Response.id)
             .where(Response.campaign_id == round_.campaign.id, EmailLog.kind == round_.kind,
                    EmailLog.round == round_.label))
    if round_.caf_number:
        query = (query.join(Project, Response.project_id == Project.id).join(Caf, Project.caf_id == Caf.id)
                 .where(Caf.number == round_.caf_number))
    if round_.response_id:
        query = query.where(Response.id == round_.response_id)
    return query


def round_logs(round_: Round):
    """The rows of the round, in order of planning."""
    return _in_round(_logs(), round_).order_by(EmailLog.id)


def round_scope(round_: Round) -> tuple:
    """The round as a scope of :func:`~.delivery.deliver_due`."""
    return (EmailLog.id.in_(_in_round(select(EmailLog.id), round_)),)


def was_planned(db: Session, round_: Round) -> bool:
    """Whether any message of the round was ever planned (whatever became of it)."""
    return db.scalar(round_logs(round_).limit(1)) is not None


# -- sending ----------------------------------------------------------------
def send_round(db: Session, round_: Round, now: datetime, *, dry_run: bool = False, retry_failed: bool = False,
               plan_new: bool = True, progress: Callable | None = None) -> SendReport:
    """Plan the round (unless ``plan_new`` is false), then send its due messages now, throttled.

    A dry run sends nothing and writes nothing: its report lists the messages
    (recipient, kind, subject) a real run would send now.
    """
    statuses = [EmailStatus.PENDING] + ([EmailStatus.FAILED] if retry_failed else [])
    if dry_run:
        return SendReport(previews=_previews(db, round_, now, statuses, plan_new))
    report = SendReport(planned=plan(db, round_, now) if plan_new else 0)
    scope = round_scope(round_)
    report.interrupted = interrupted(db, scope)
    throttle = messages.Throttle(current_app.config["MAIL_PER_SECOND"])
    return deliver_due(db, now, scope, report, retry_failed=retry_failed, throttle=throttle, progress=progress)


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
    return not waits_on_partner(log) or awaits_partner(log.response, now)


def send_pending(db: Session, campaign: Campaign | None, now: datetime, *, dry_run: bool = False,
                 retry_failed: bool = False, progress: Callable | None = None) -> SendReport:
    """The safety net: send whatever is due in the campaign (every campaign without one), of any kind.

    Due: pending, or left ``sending`` by a sender that died more than
    ``MAIL_RESEND_AFTER_SECONDS`` ago (sent again with the same Message-ID);
    with ``retry_failed``, failed too. The outboxes of the server processes
    do the same on their own; this is for cron, in case none runs.
    """
    statuses = [EmailStatus.PENDING] + ([EmailStatus.FAILED] if retry_failed else [])
    scope = () if campaign is None else (
        EmailLog.response_id.in_(select(Response.id).where(Response.campaign_id == campaign.id)),)
    if dry_run:
        query = _logs().where(EmailLog.status.in_(statuses), *scope).order_by(EmailLog.id)
        return SendReport(previews=_planned_previews(db, query, now))
    report = SendReport(interrupted=interrupted(db, scope))
    throttle = messages.Throttle(current_app.config["MAIL_PER_SECOND"])
    return deliver_due(db, now, scope, report, retry_failed=retry_failed, throttle=throttle, progress=progress)


# -- following a round, sending again ---------------------------------------------
@dataclass(frozen=True)
class RoundProgress:
    """How many of a round's messages are at each status."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # planned, then no longer due (e.g. a relance to a bilan transmitted since)

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.skipped

    @property
    def finished(self) -> bool:
        """Nothing of the round is waiting or being sent any more."""
        return self.pending + self.sending == 0


def round_progress(db: Session, round_: Round) -> RoundProgress:
    """Counts of the round's messages by status, in one query."""
    query = _in_round(select(EmailLog.status, func.count()), round_).group_by(EmailLog.status)
    return RoundProgress(**{status.value: number for status, number in db.execute(query)})


def failed_logs(db: Session, caf_id: int | None, campaign_id: int | None = None, limit: int = 500) -> list[EmailLog]:
    """The failed messages of a Caf's projects (every Caf's with ``None``), the latest attempt first, with their reason."""
    query = (select(EmailLog).join(Response, EmailLog.response_id == Response.id)
             .join(Project, Response.project_id == Project.id)
             .options(joinedload(EmailLog.response).options(_ONE_CAMPAIGN, *_NO_ANSWERS)
                      .joinedload(Response.project))
             .where(EmailLog.status == EmailStatus.FAILED)
             .order_by(EmailLog.attempted_at.desc(), EmailLog.id.desc()).limit(limit))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    if campaign_id is not None:
        query = query.where(Response.campaign_id == campaign_id)
    return list(db.scalars(query))


def resend(db: Session, caf_id: int | None, log_ids, now: datetime, *, skip_refused: bool = False) -> int:
    """Put failed messages of a Caf's projects back in line (``pending``); the caller commits, then wakes the outbox.

    ``caf_id`` is the Caf of the person asking (``None``: an administrator,
    every Caf). All or nothing: a message of another Caf, one already sent
    or no longer due (a relance, an invitation or a correction notice to a
    bilan that no longer awaits its partner, a notice the bilan's state has
    made untrue, a withdrawn contact) is refused with a French reason, and
    nothing changes; with ``skip_refused`` (« tout renvoyer »), those are left
    as they are and the others go. A message already back in line is left as
    it is. Returns how many messages were put back.
    """
    try:
        ids = sorted({int(log_id) for log_id in log_ids})
    except (TypeError, ValueError):
        raise DomainError("Les courriels choisis ne sont pas reconnus : choisissez-les dans la liste.") from None
    if not ids:
        raise DomainError("Choisissez au moins un courriel à renvoyer.")
    if not 0 < ids[-1] < 2**31 or ids[0] < 1:  # beyond what the database can hold: names nothing
        raise DomainError("Les courriels choisis ne sont pas reconnus : choisissez-les dans la liste.")
    query = (select(EmailLog).join(Response, EmailLog.response_id == Response.id)
             .join(Project, Response.project_id == Project.id).where(EmailLog.id.in_(ids)))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    logs = {log.id: log for log in db.scalars(query)}
    missing = [log_id for log_id in ids if log_id not in logs]
    if missing:
        raise DomainError(f"Le courriel n° {missing[0]} n’existe pas ou ne concerne pas votre Caf.")
    refusals = {log.id: reason for log in logs.values() if (reason := _not_to_resend(log, now))}
    if refusals and not skip_refused:
        raise DomainError(" ".join(refusals.values()))
    failed = [log_id for log_id, log in logs.items() if log.status is EmailStatus.FAILED and log_id not in refusals]
    if failed:
        db.execute(update(EmailLog).where(EmailLog.id.in_(failed), EmailLog.status == EmailStatus.FAILED)
                   .values(status=EmailStatus.PENDING))
    return len(failed)


def _not_to_resend(log: EmailLog, now: datetime) -> str | None:
    """Why ``log`` cannot be sent again (in French), if it cannot."""
    response = log.response
    which = f"Le courriel à {log.contact.email} ({log.kind.label}, {response.project.reference})"
    if log.status in (EmailStatus.PENDING, EmailStatus.SENDING):
        return None if log.status is EmailStatus.PENDING else f"{which} est en cours d’envoi."
    if log.status is EmailStatus.SENT:
        return f"{which} est déjà parti : il n’est pas renvoyé."
    if log.status is EmailStatus.SKIPPED:
        return f"{which} n’a plus lieu d’être ({log.error})."
    if log.contact.withdrawn_at is not None:
        return f"{which} n’est pas renvoyé : ce contact a été retiré du projet."
    state = response.state
    if log.kind in (EmailKind.INVITATION, EmailKind.REMINDER, EmailKind.CORRECTION) and not awaits_partner(response, now):
        if state in REMINDED_STATES:
            return f"{which} n’est pas renvoyé : le délai de réponse du partenaire est passé."
        return f"{which} n’est pas renvoyé : le bilan n’attend plus de réponse du partenaire (bilan {state.label})."
    if log.kind is EmailKind.CORRECTION:
        correction = response.open_correction
        if correction is None or log.round != f"correction-{correction.id}":
            return f"{which} n’est pas renvoyé : cette demande de correction n’est plus en cours."
    if log.kind is EmailKind.VALIDATED and state is not ResponseState.VALIDATED:
        return f"{which} n’est pas renvoyé : le bilan n’est plus validé (bilan {state.label})."
    return None
