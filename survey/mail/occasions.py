"""The occasions for emails: invitations and reminders of a campaign, receipts, correction notices.

Each builds a :class:`Round` and hands it to the planning of :mod:`.rounds`
(one message per contact and occasion) and the sending of :mod:`.delivery`.
"""
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, insert, literal, or_, select
from sqlalchemy.orm import Session

from ..deadline import same_wall_clock
from ..engine.timefmt import format_datetime, local
from ..errors import DomainError
from ..models import (
    Caf,
    CafWindow,
    Campaign,
    Contact,
    CorrectionRequest,
    EmailKind,
    EmailLog,
    EmailStatus,
    Project,
    Response,
)
from ..models.types import utcnow
from .delivery import SendReport, deliver_due
from .rounds import (
    NATIONAL_TIMEZONE,
    Round,
    invitation_round,
    plan,
    reminder_round,
    round_scope,
    send_round,
    was_planned,
)

logger = logging.getLogger(__name__)


# -- campaigns: invitations and reminders -------------------------------------
def send_invitations(db: Session, campaign: Campaign, now: datetime, caf_number: str | None = None,
                     **options) -> SendReport:
    """Invite every contact of the campaign's projects (one Caf's with ``caf_number``), once each.

    Each invitation carries a fresh personal link; links sent before stay valid.
    Refused once the campaign (or the Caf's own calendar) has closed: nobody could answer any more.
    """
    check_invitations_open(db, campaign, now, caf_number)
    return send_round(db, invitation_round(campaign, caf_number), now, **options)


def check_invitations_open(db: Session, campaign: Campaign, now: datetime, caf_number: str | None = None):
    """Refuse (:class:`DomainError`) an unknown Caf, or invitations once the campaign (or the Caf's calendar) has closed."""
    check_caf(db, caf_number)
    closes_at, tz_name = caf_calendar(db, campaign, caf_number)
    if now > closes_at:
        raise DomainError(
            f"La campagne {campaign.code} est close depuis le {format_datetime(closes_at, tz_name)} : "
            "les invitations ne partent plus (un projet dont le délai a été prolongé garde le lien qu'il a reçu)."
        )


def caf_calendar(db: Session, campaign: Campaign, caf_number: str | None) -> tuple[datetime, str]:
    """The closing that applies to a Caf's projects (its own window's, or the campaign's) and the Caf's zone.

    Without a Caf: the campaign's closing, in the national zone.
    """
    if not caf_number:
        return campaign.closes_at, NATIONAL_TIMEZONE
    caf = db.scalar(select(Caf).where(Caf.number == caf_number))
    window = db.scalar(select(CafWindow).where(CafWindow.caf_id == caf.id, CafWindow.campaign_id == campaign.id))
    return (window.closes_at if window else same_wall_clock(campaign.closes_at, caf.timezone)), caf.timezone


def cafs_on_their_own_calendar(db: Session, campaign: Campaign) -> list[str]:
    """The Cafs of the campaign's projects whose reminders follow their own days: own window, or another zone."""
    own_window = select(CafWindow.caf_id).where(CafWindow.campaign_id == campaign.id)
    enrolled = select(Project.caf_id).join(Response, Response.project_id == Project.id).where(
        Response.campaign_id == campaign.id)
    return list(db.scalars(select(Caf.number).where(Caf.id.in_(enrolled), or_(
        Caf.id.in_(own_window), Caf.timezone != NATIONAL_TIMEZONE)).order_by(Caf.number)))


def send_reminders(db: Session, campaign: Campaign, days_before: int, now: datetime, caf_number: str | None = None,
                   **options) -> SendReport:
    """Remind the contacts of projects not yet transmitted (not started, in progress, or asked to correct).

    A Caf's round (``caf_number``) covers only its own projects. Projects whose
    time to answer is over are not reminded.
    """
    check_caf(db, caf_number)
    return send_round(db, reminder_round(campaign, days_before, caf_number), now, **options)


def check_caf(db: Session, caf_number: str | None):
    """Refuse (:class:`DomainError`) a Caf number that names no Caf."""
    if caf_number and db.scalar(select(Caf.id).where(Caf.number == caf_number)) is None:
        raise DomainError(f"Aucune Caf n'a le numéro {caf_number}.")


def reminder_moment(closes_at: datetime, days_before: int, tz_name: str) -> datetime:
    """When a ``J-n`` round becomes due: the start of the day ``n`` days before the deadline's day, in ``tz_name``."""
    day = local(closes_at, tz_name).date() - timedelta(days=days_before)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz_name))


@dataclass
class DueReminders:
    """What ``send_due_reminders`` did: the round it sent (if any) and older rounds it left out.

    A national run also reports, in ``cafs``, what it did for each Caf on its own calendar.
    """

    round: Round | None = None
    report: SendReport | None = None
    superseded: list[int] = field(default_factory=list)
    caf_number: str | None = None
    cafs: list["DueReminders"] = field(default_factory=list)


def send_due_reminders(db: Session, campaign: Campaign, schedule: list[int], now: datetime,
                       caf_number: str | None = None, **options) -> DueReminders:
    """For cron: send the reminder round of ``schedule`` whose moment has come, once.

    Each Caf keeps its own calendar: its days are counted back from its own
    closing (its window's, or the campaign's), in its own zone. A national run
    (no ``caf_number``) sends the national round to the Cafs that follow the
    campaign in Paris time, and each other Caf's round as ``--caf`` would.
    Only the latest due round is sent: if runs were missed and several rounds
    fell due, the older ones are left out (``superseded``) rather than sending
    two reminders at once. A round already planned only has its leftover
    pending messages sent (the rest of a run that crashed). Nothing is sent
    after the deadline.
    """
    check_caf(db, caf_number)
    if caf_number:
        return _due_round(db, campaign, schedule, now, caf_number, (), options)
    others = cafs_on_their_own_calendar(db, campaign)
    outcome = _due_round(db, campaign, schedule, now, None, tuple(others), options)
    outcome.cafs = [_due_round(db, campaign, schedule, now, number, (), options) for number in others]
    return outcome


def _due_round(db, campaign, schedule, now, caf_number, other_cafs, options) -> DueReminders:
    outcome = DueReminders(caf_number=caf_number)
    closes_at, tz_name = caf_calendar(db, campaign, caf_number)
    if now > closes_at:
        return outcome
    due = sorted(days for days in set(schedule) if reminder_moment(closes_at, days, tz_name) <= now)
    if not due:
        return outcome

    def round_of(days):
        return replace(reminder_round(campaign, days, caf_number), other_cafs=other_cafs)
    outcome.round = round_of(due[0])
    outcome.superseded = [days for days in due[1:] if not was_planned(db, round_of(days))]
    plan_new = not was_planned(db, outcome.round)
    outcome.report = send_round(db, outcome.round, now, plan_new=plan_new, **options)
    return outcome


# -- after a partner's or a Caf's action ----------------------------------------
def plan_receipt(db: Session, response: Response, now: datetime, first_transmission: bool = False):
    """Inside the transmission's transaction: a pending receipt for every contact of the project.

    One statement, committed with the transmission itself: a receipt can be
    late (any process's outbox, or ``send-pending-emails``, sends what is
    left) but never forgotten. A ``first_transmission``'s round is its
    reference, known without counting the correction requests.
    """
    plan_notice(db, response, EmailKind.RECEIPT, response.receipt if first_transmission else response.receipt_round, now)


# Notices planned inside the transaction of what they tell, sent by the outbox after the commit.
NOTICE_KINDS = (EmailKind.RECEIPT, EmailKind.VALIDATED, EmailKind.REOPENED)


def plan_notice(db: Session, response: Response, kind: EmailKind, label: str, now: datetime):
    """Inside the caller's transaction: a pending ``kind`` email for every contact of the project, in one statement."""
    columns = EmailLog.__table__.c
    db.execute(insert(EmailLog).from_select(
        ["kind", "round", "contact_id", "response_id", "status", "planned_at"],
        select(literal(kind, columns.kind.type), literal(label, String),
               Contact.id, literal(response.id), literal(EmailStatus.PENDING, columns.status.type),
               literal(now, columns.planned_at.type))
        .where(Contact.project_id == response.project_id, Contact.withdrawn_at.is_(None))))


def send_receipt(db: Session, response_id: int, now: datetime | None = None) -> SendReport | None:
    """After a transmission (or a validation, a reopening) is committed: its notice to every contact of the project.

    Sends the rows :func:`plan_notice` wrote with the transmission, found
    (with the response they need) in one query: this runs after every
    transmission. Logged like every email. Never raises: a failure is
    recorded and logged, and the transmission stands.
    """
    scope = (EmailLog.response_id == response_id, EmailLog.kind.in_(NOTICE_KINDS))
    return _send_pending(db, lambda: scope, now or utcnow(), f"receipt of response {response_id}")


def send_correction_notice(db: Session, request: CorrectionRequest, now: datetime | None = None) -> SendReport | None:
    """After a correction request is committed: the Caf's messages and the delay, to every contact.

    Each notice carries a fresh personal link. Never raises, like :func:`send_receipt`.
    """
    response = db.get(Response, request.response_id)
    round_ = Round(response.campaign, EmailKind.CORRECTION, f"correction-{request.id}", response_id=response.id)
    now = now or utcnow()

    def planned_rows():
        plan(db, round_, now)
        return round_scope(round_)
    return _send_pending(db, planned_rows, now, f"correction notice {request.id}")


def plan_correction_notice(db: Session, request: CorrectionRequest, now: datetime) -> int:
    """After a correction request is committed: plan its notice to every contact (and commit), for the outbox.

    The view then wakes its process's sender: a slow SMTP server never holds the reviewer's page.
    """
    response = db.get(Response, request.response_id)
    return plan(db, Round(response.campaign, EmailKind.CORRECTION, f"correction-{request.id}", response_id=response.id), now)


def _send_pending(db: Session, find_scope, now: datetime, what: str) -> SendReport | None:
    """Send the rows of the scope ``find_scope()`` gives, now; a failure is recorded and logged, never raised."""
    try:
        report = deliver_due(db, now, find_scope(), stop_when_unavailable=False)
    except Exception:
        db.rollback()
        logger.exception("%s: emails could not be sent", what)
        return None
    for log in report.failed:
        # The log names the row, not the address (server logs outlive the purge); email_log keeps the detail.
        logger.warning("%s email (email_log %s, contact %s) failed: %s", log.kind.value, log.id, log.contact_id,
                       (log.error or "").replace(log.contact.email, "[adresse du contact]"))
    return report
