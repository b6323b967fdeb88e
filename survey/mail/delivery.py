"""Sending planned emails: claim a row, commit, talk to the SMTP server, record what became of it.

At least once, under one Message-ID. A sender claims a row (``sending``, one
more attempt, the Message-ID of any earlier attempt kept) and commits before
the SMTP exchange, then records ``sent`` or ``failed`` with the server's
reason. A sender that dies in between leaves the row ``sending``; once
``MAIL_RESEND_AFTER_SECONDS`` have passed, any sender claims it again and
sends it with the same Message-ID, which mail clients deduplicate.

Senders (each process's outbox thread, the commands) share the rows through
the database: on PostgreSQL each finds its next row with ``FOR UPDATE SKIP
LOCKED``, so two never wait on each other nor take the same row; the claim
itself is a conditional UPDATE, which alone suffices on SQLite (one writer at
a time).
"""
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..deadline import AWAITING_PARTNER, partner_window
from ..links import issue_link
from ..models import CorrectionRequest, EmailKind, EmailLog, EmailStatus
from ..models.types import utcnow
from . import messages

logger = logging.getLogger(__name__)

# A Caf's new link to one project: an invitation of its own, "lien-<user id>-<time>".
NEW_LINK_ROUND = "lien-"
REMINDED_STATES = tuple(AWAITING_PARTNER)
# Someone waits for these (a partner who just transmitted, a Caf's request):
# they leave before the rows of a big round planned earlier.
URGENT_KINDS = (EmailKind.RECEIPT, EmailKind.CORRECTION, EmailKind.VALIDATED, EmailKind.REOPENED)
SENDING_ORDER = URGENT_KINDS + tuple(kind for kind in EmailKind if kind not in URGENT_KINDS)
_WITH_LINK = (EmailKind.INVITATION, EmailKind.REMINDER, EmailKind.CORRECTION)


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
    """What a run did.

    ``interrupted`` rows were ``sending`` when the run began, claimed by
    another sender less than ``MAIL_RESEND_AFTER_SECONDS`` ago (still at
    work, or dead: then a later run sends them again); ``resent`` counts the
    rows this run claimed again after that delay.
    """

    planned: int = 0
    sent: int = 0
    skipped: int = 0
    resent: int = 0
    failed: list[EmailLog] = field(default_factory=list)
    interrupted: list[EmailLog] = field(default_factory=list)
    # Set when the SMTP server could not be reached: the rest of a batch stays pending.
    unavailable: str | None = None
    previews: list[Preview] = field(default_factory=list)


def waits_on_partner(log: EmailLog) -> bool:
    """Invitations, reminders and a Caf's new links only make sense while the partner can still answer."""
    return log.kind in (EmailKind.REMINDER, EmailKind.INVITATION)


def no_longer_due(db: Session, log: EmailLog, now: datetime) -> str | None:
    """Why a planned message should not leave any more (in French), if it should not."""
    if not waits_on_partner(log):
        return None
    response = log.response
    db.refresh(response)
    new_link = log.round.startswith(NEW_LINK_ROUND)
    what = ("plus de relance" if log.kind is EmailKind.REMINDER
            else "plus de nouveau lien" if new_link else "plus d’invitation")
    if response.state not in REMINDED_STATES:
        return f"{what} : bilan {response.state.label} entre-temps"
    if partner_window(response).has_closed(now):
        return f"{what} : le délai de réponse est passé"
    correction = response.open_correction
    if new_link and correction is not None and log.planned_at < correction.requested_at:
        return "plus de nouveau lien : la demande de correction, arrivée depuis, en portait un"
    return None


def resend_cutoff() -> datetime:
    """Rows claimed before this moment and still ``sending`` belong to a sender that died: send them again."""
    return utcnow() - timedelta(seconds=current_app.config["MAIL_RESEND_AFTER_SECONDS"])


def stale(cutoff: datetime):
    """Rows left ``sending`` since before ``cutoff``: their sender died, any sender may take them over."""
    return and_(EmailLog.status == EmailStatus.SENDING, EmailLog.attempted_at < cutoff)


def _due_statuses(retry_failed: bool) -> tuple[EmailStatus, ...]:
    """The statuses of the rows :func:`_due_groups` may take."""
    return (EmailStatus.PENDING, EmailStatus.SENDING) + ((EmailStatus.FAILED,) if retry_failed else ())


def _due_groups(retry_failed: bool, cutoff: datetime, started: datetime) -> list:
    """The rows a run may claim, as where-clauses in the order they go: rows a dead sender left
    ``sending``; pending rows, one kind after the other (:data:`SENDING_ORDER`); with
    ``retry_failed``, rows that failed before the run ``started`` (not those it failed
    itself, or it would never end).

    One kind at a time, each group is a range of the index on (status, kind, id).
    """
    groups = [stale(cutoff)]
    groups += [and_(EmailLog.status == EmailStatus.PENDING, EmailLog.kind == kind) for kind in SENDING_ORDER]
    if retry_failed:
        groups.append(and_(EmailLog.status == EmailStatus.FAILED,
                           or_(EmailLog.attempted_at.is_(None), EmailLog.attempted_at < started)))
    return groups


def _next_due(db: Session, groups, scope, after: dict[int, int], statuses) -> tuple[int, EmailStatus] | None:
    """The next row to send, locked for this transaction (rows other senders hold are skipped).

    ``after`` holds, for each group, the last id this run took there: the next
    search starts past it. PostgreSQL walks the primary key for ``ORDER BY id
    LIMIT 1``; from the start, that is past every row ever sent (25 ms behind
    60,000 of them), from the last id taken, a few rows.

    Most searches find nothing (the one after a run's last row, each idle poll
    of a sender): a first look at whether any row at all is in one of the
    ``statuses`` the groups take answers them in one statement instead of one
    per group (a receipt's whole pass: 9 statements, was 14). Asked in the
    index's order (status, kind, id), it reads the index: unordered, PostgreSQL
    chose to scan the table from its start, past every sent row
    (``bench.mail_senders``: 12.4 ms a row behind 60,000).
    """
    first = (select(EmailLog.id).where(EmailLog.status.in_(statuses), *scope)
             .order_by(EmailLog.status, EmailLog.kind, EmailLog.id).limit(1))
    if db.scalar(first) is None:
        return None
    for number, group in enumerate(groups):
        row = db.execute(select(EmailLog.id, EmailLog.status).where(group, EmailLog.id > after.get(number, 0), *scope)
                         .order_by(EmailLog.id).limit(1).with_for_update(skip_locked=True)).first()
        if row is not None:
            after[number] = row.id
            return row.id, row.status
    return None


def _claim(db: Session, log_id: int, due) -> bool:
    """Mark the row ``sending`` if it is still due: one more attempt, the Message-ID of any earlier one kept; commit."""
    result = db.execute(update(EmailLog).where(EmailLog.id == log_id, due).values(
        status=EmailStatus.SENDING, attempted_at=utcnow(), error=None, attempts=EmailLog.attempts + 1,
        message_id=func.coalesce(EmailLog.message_id, messages.new_message_id())))
    db.commit()
    return result.rowcount == 1


def _record(db: Session, log_id: int, from_statuses, **values) -> bool:
    """Move the row to ``values`` if it is still in one of ``from_statuses``; commit."""
    result = db.execute(update(EmailLog).where(EmailLog.id == log_id, EmailLog.status.in_(from_statuses))
                        .values(**values))
    db.commit()
    return result.rowcount == 1


def _compose(db: Session, log: EmailLog):
    link = None
    if log.kind in _WITH_LINK:
        token = issue_link(db, log.contact, log.response)
        link = f"{current_app.config['BASE_URL'].rstrip('/')}/r/{token}"
    request = None
    if log.kind is EmailKind.CORRECTION:
        request = db.get(CorrectionRequest, int(log.round.removeprefix("correction-")))
    return messages.compose(log.kind, log.response, log.contact.email, link, request, log.message_id)


def deliver_due(db: Session, now: datetime, scope=(), report: SendReport | None = None, *, retry_failed: bool = False,
                throttle: messages.Throttle | None = None, stop_when_unavailable: bool = True,
                stop: Callable[[], bool] | None = None, progress: Callable | None = None) -> SendReport:
    """Send, one claim at a time, every row of ``scope`` (where-clauses on :class:`EmailLog`) that is due.

    Due: ``pending``; ``sending`` for longer than ``MAIL_RESEND_AFTER_SECONDS``
    (sent again with its Message-ID); with ``retry_failed``, ``failed`` before
    this run. Urgent kinds (receipts, notices) go first. An invitation or a
    reminder no longer due is ``skipped``. When the server cannot be reached, a
    batch (``stop_when_unavailable``) stops and leaves its rows as they were
    (the first one notes the reason); otherwise every remaining row is
    ``failed`` with that reason. ``stop()`` is asked before each row (a
    process that exits); ``progress(total)`` may return a click progress bar.
    """
    report = report if report is not None else SendReport()
    started, after, statuses = utcnow(), {}, _due_statuses(retry_failed)
    total = 0
    if progress is not None:
        due = or_(*_due_groups(retry_failed, resend_cutoff(), started))
        total = db.scalar(select(func.count()).select_from(EmailLog).where(due, *scope))
    bar = progress(total) if total else None
    with messages.Postman(current_app.config) as postman, (bar if bar is not None else nullcontext()):
        while stop is None or not stop():
            # Afresh for each row: a round can take an hour, and a sender may die meanwhile.
            groups = _due_groups(retry_failed, resend_cutoff(), started)
            due = or_(*groups)
            found = _next_due(db, groups, scope, after, statuses)
            if found is None:
                db.commit()  # ends the transaction without expiring the rows the report holds
                break
            keep_going = _deliver_one(db, postman, *found, due, now, throttle, report, stop_when_unavailable)
            if bar is not None:
                bar.update(1)
            if not keep_going:
                break
    return report


def _deliver_one(db, postman, log_id, status, due, now, throttle, report, stop_when_unavailable) -> bool:
    if report.unavailable:  # and the batch goes on: each row says why it did not leave
        db.commit()
        if _record(db, log_id, [status], status=EmailStatus.FAILED, error=report.unavailable, attempted_at=utcnow()):
            report.failed.append(db.get(EmailLog, log_id))
        return True
    try:
        postman.connect()  # before the claim: with the server down, nothing is attempted
    except messages.SmtpUnavailable as exc:
        db.commit()
        report.unavailable = str(exc)
        if stop_when_unavailable:
            _record(db, log_id, [status], error=report.unavailable)  # kept as it was, with the reason
            return False
        return _deliver_one(db, postman, log_id, status, due, now, throttle, report, stop_when_unavailable)
    if not _claim(db, log_id, due):
        return True  # another sender took it meanwhile (SQLite: no row locks)
    if status is EmailStatus.SENDING:
        report.resent += 1
    log = db.get(EmailLog, log_id, populate_existing=True)
    reason = no_longer_due(db, log, now)
    if reason:
        if _record(db, log_id, [EmailStatus.SENDING], status=EmailStatus.SKIPPED, error=reason):
            report.skipped += 1
        return True
    try:
        message = _compose(db, log)
        db.commit()  # the personal link it carries
    except Exception as exc:  # a broken template or row must not stop the other messages
        db.rollback()
        logger.exception("email %s could not be composed", log_id)
        if _record(db, log_id, [EmailStatus.SENDING], status=EmailStatus.FAILED,
                   error=f"message impossible à composer : {exc}"):
            report.failed.append(db.get(EmailLog, log_id, populate_existing=True))
        return True
    if throttle is not None:
        throttle.wait()
    try:
        postman.send(message)
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the server did not accept this message
        # (smtplib turns the message into bytes before its first command, and a
        # refusal or a broken connection leaves it unsent): a failure to retry,
        # never a row left "sending". Unless a sender that took over meanwhile
        # (this one having been slower than MAIL_RESEND_AFTER_SECONDS) sent it.
        if _record(db, log_id, [EmailStatus.SENDING], status=EmailStatus.FAILED, error=messages.describe_error(exc)):
            report.failed.append(db.get(EmailLog, log_id, populate_existing=True))
        return True
    _record(db, log_id, [EmailStatus.SENDING, EmailStatus.FAILED], status=EmailStatus.SENT, sent_at=utcnow(), error=None)
    report.sent += 1
    return True


def deliver(db: Session, logs: list[EmailLog], now: datetime, report: SendReport | None = None, **options) -> SendReport:
    """Send the rows ``logs`` that are due (see :func:`deliver_due`), in order of planning."""
    if not logs:
        return report if report is not None else SendReport()
    return deliver_due(db, now, (EmailLog.id.in_([log.id for log in logs]),), report, **options)


def interrupted(db: Session, scope=()) -> list[EmailLog]:
    """Rows of ``scope`` another sender claimed less than ``MAIL_RESEND_AFTER_SECONDS`` ago and still ``sending``."""
    recent = or_(EmailLog.attempted_at.is_(None), EmailLog.attempted_at >= resend_cutoff())
    return list(db.scalars(select(EmailLog).where(EmailLog.status == EmailStatus.SENDING, recent, *scope)
                           .order_by(EmailLog.id)))
