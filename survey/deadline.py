"""The partner's window: one rule for the instant a partner may last answer.

The campaign's opening and closing, replaced by its Caf's own window when it
has one, lengthened by an extension granted to the project, or replaced by the
delay of an open correction request. Every check, page, email and export reads
the deadline here; nothing else computes it.
"""
import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, event, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, object_session

from .models import Caf, CafWindow, CorrectionRequest, Project, Response, ResponseState
from .models.types import UTCDateTime

# A closing is shown to the minute ("23 h 59") and stored to the second
# (23:59:59): the whole of that last second still counts.
_LAST_SECOND = timedelta(seconds=1)


class DeadlineKind(enum.Enum):
    CAMPAIGN = "campaign"
    CAF = "caf"
    EXTENSION = "extension"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Window:
    """When a partner may answer: ``opens_at`` to ``closes_at`` (its whole last second), in ``timezone``."""

    opens_at: datetime
    closes_at: datetime
    kind: DeadlineKind
    timezone: str

    @property
    def is_correction_delay(self) -> bool:
        return self.kind is DeadlineKind.CORRECTION

    @property
    def is_extended(self) -> bool:
        return self.kind is DeadlineKind.EXTENSION

    def has_opened(self, now: datetime) -> bool:
        return now >= self.opens_at

    def has_closed(self, now: datetime) -> bool:
        """Whether ``now`` is past the deadline: a save at 23:59:59.6 for a 23:59:59 closing is in time."""
        return now >= self.closes_at.replace(microsecond=0) + _LAST_SECOND

    def accepts(self, now: datetime) -> bool:
        return self.has_opened(now) and not self.has_closed(now)


# States in which the partner still has something to do (answer, or correct).
AWAITING_PARTNER = frozenset({ResponseState.NOT_STARTED, ResponseState.IN_PROGRESS,
                              ResponseState.CORRECTION_REQUESTED})


# A campaign's dates are wall-clock times of the national calendar (Paris).
CAMPAIGN_TIMEZONE = "Europe/Paris"


def caf_window(response: Response) -> tuple[datetime, datetime, bool]:
    """The opening and closing of the response's campaign for its Caf, and whether they are the Caf's own.

    Without a window of its own, a Caf opens and closes at the campaign's
    wall-clock times in its own zone: "15 July at 23:59" is 23:59 in Paris for
    the Caf de la Savoie and 23:59 in Saint-Denis for the Caf de La Réunion.
    """
    return campaign_window_of_caf(response.campaign, response.project.caf, _caf_own_window(response))


def campaign_window_of_caf(campaign, caf, own: tuple[datetime, datetime] | None) -> tuple[datetime, datetime, bool]:
    """A Caf's opening and closing of ``campaign``: ``own`` (its window, if any) or the campaign's, in its zone."""
    if own is not None:
        return own[0], own[1], True
    return same_wall_clock(campaign.opens_at, caf.timezone), same_wall_clock(campaign.closes_at, caf.timezone), False


def same_wall_clock(moment: datetime, zone: str) -> datetime:
    """The instant that shows in ``zone`` the date and time ``moment`` shows in Paris."""
    if zone == CAMPAIGN_TIMEZONE:
        return moment
    wall = moment.astimezone(ZoneInfo(CAMPAIGN_TIMEZONE)).replace(tzinfo=None)
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _caf_own_window(response: Response):
    """The Caf's own opening and closing for the campaign, if an administrator set them (None otherwise).

    The windows of a campaign are read once per session (one small query per
    request, even for a batch of emails) and read again after a commit or a
    rollback, so that a window just changed is the one applied.
    """
    db = object_session(response)
    if db is None:
        return None
    key = (response.campaign_id, response.project.caf_id)
    known = db.info.get(_OWN_WINDOW, {})
    if key in known:
        return known[key]
    return caf_windows(db, response.campaign_id).get(key[1])


def remember_own_window(db: Session, campaign_id: int, caf_id: int, window: tuple[datetime, datetime] | None):
    """Keep for this transaction one Caf's own window (or None), read with something else (a partner's link)."""
    db.info.setdefault(_OWN_WINDOW, {})[(campaign_id, caf_id)] = window


def caf_windows(db: Session, campaign_id: int) -> dict:
    """Each Caf's own (opening, closing) for the campaign, by Caf id: read once per transaction.

    A batch (a reminder round) reads it first, so that it runs the same
    statements whatever its candidates.
    """
    windows = db.info.setdefault(_WINDOWS, {})
    if campaign_id not in windows:
        rows = db.execute(select(CafWindow.caf_id, CafWindow.opens_at, CafWindow.closes_at)
                          .where(CafWindow.campaign_id == campaign_id))
        windows[campaign_id] = {caf_id: (opens_at, closes_at) for caf_id, opens_at, closes_at in rows}
    return windows[campaign_id]


_WINDOWS = "caf_windows"
_OWN_WINDOW = "caf_window_of"
_ZONES = "caf_zones"


def caf_zones(db: Session) -> list[str]:
    """The time zones of the Cafs, read once per transaction (SQL forms of the rules branch on them)."""
    if _ZONES not in db.info:
        db.info[_ZONES] = list(db.scalars(select(Caf.timezone).distinct().order_by(Caf.timezone)))
    return db.info[_ZONES]


def forget_caf_windows(db: Session):
    """Read the Caf windows (and zones) again at the next deadline (after one was set or removed)."""
    db.info.pop(_WINDOWS, None)
    db.info.pop(_OWN_WINDOW, None)
    db.info.pop(_ZONES, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_after_transaction(db):
    forget_caf_windows(db)


def partner_window(response: Response) -> Window:
    """The one deadline rule: campaign, then the Caf's window, then the project's extension, then a correction delay."""
    timezone = response.project.caf.timezone
    opens_at, closes_at, caf_own = caf_window(response)
    correction = response.open_correction
    if correction is not None:
        return Window(opens_at, correction.until, DeadlineKind.CORRECTION, timezone)
    if response.extended_until is not None and response.extended_until > closes_at:
        return Window(opens_at, response.extended_until, DeadlineKind.EXTENSION, timezone)
    return Window(opens_at, closes_at, DeadlineKind.CAF if caf_own else DeadlineKind.CAMPAIGN, timezone)


def awaits_partner(response: Response, now: datetime) -> bool:
    """Whether the partner can still answer: not transmitted (or sent back for correction), within their time."""
    return response.state in AWAITING_PARTNER and not partner_window(response).has_closed(now)


def awaits_partner_clause(db: Session, campaign, now: datetime):
    """:func:`awaits_partner` as a SQL condition on ``Response``, for the responses of ``campaign``.

    The same rule, for queries that count or page through thousands of
    responses without loading them (a reminder round's preview). The query
    must join ``Project`` and ``Caf``. ``tests/test_deadline.py`` checks that it
    agrees with :func:`awaits_partner` on every kind of deadline.
    """
    # Window.has_closed: open while the deadline's whole second (floored) has not passed.
    moment = literal(now.replace(microsecond=0), UTCDateTime())
    zones = [zone for zone in caf_zones(db) if zone != CAMPAIGN_TIMEZONE]
    same_time = (case({zone: literal(same_wall_clock(campaign.closes_at, zone), UTCDateTime()) for zone in zones},
                      value=Caf.timezone, else_=literal(campaign.closes_at, UTCDateTime()))
                 if zones else literal(campaign.closes_at, UTCDateTime()))
    own = (select(CafWindow.closes_at).where(CafWindow.caf_id == Project.caf_id,
                                             CafWindow.campaign_id == campaign.id).scalar_subquery())
    request = aliased(CorrectionRequest)  # Response.open_correction: the latest request still open
    latest_open = (select(func.max(request.id)).where(request.response_id == Response.id, request.closed_at.is_(None))
                   .scalar_subquery())
    correcting = and_(Response.state == ResponseState.CORRECTION_REQUESTED, latest_open.is_not(None))
    delay_open = exists().where(CorrectionRequest.id == latest_open, CorrectionRequest.until >= moment)
    window_open = or_(func.coalesce(own, same_time) >= moment, Response.extended_until >= moment)
    return and_(Response.state.in_(AWAITING_PARTNER), Response.campaign_id == campaign.id,
                or_(and_(correcting, delay_open), and_(~correcting, window_open)))
