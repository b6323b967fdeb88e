"""Campaign figures for the dashboard: states, the response rate over time, answer distributions."""
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from ..deadline import CAMPAIGN_TIMEZONE, caf_windows, campaign_window_of_caf
from ..engine.timefmt import local
from ..models import Caf, Campaign, EventKind, Project, Response, ResponseEvent, ResponseState
from ..questionnaires import campaign_definition
from .comparison import TRANSMITTED, CafRow, LastYear, caf_rows, last_year
from .kept import keep


@dataclass
class Distribution:
    """Counts of one closed question among transmitted bilans."""

    question: object
    # what the question's ``distribution`` hook gives: (label, count) per choice;
    # for a grid, per row: (row label, [(column label, count)])
    bars: list = field(default_factory=list)
    base: int = 0


@dataclass
class Figures:
    total: int
    by_state: dict
    transmitted: int
    timeline: list          # (day, cumulative transmitted)
    distributions: list
    by_caf: list[CafRow]    # every Caf side by side, for administrators (national view)
    calendar: "Calendar"
    last_year: LastYear | None = None

    @property
    def rate(self) -> float:
        return self.transmitted / self.total if self.total else 0.0


@dataclass(frozen=True)
class Calendar:
    """The window the timeline covers: the campaign's, or the one Caf's (its own window, in its zone)."""

    opens_at: datetime
    closes_at: datetime
    timezone: str
    is_caf_own: bool = False


def campaign_calendar(db: Session, campaign: Campaign, caf_id: int | None) -> Calendar:
    """The campaign's opening and closing for the dashboard: a Caf's own when it is scoped to one Caf that has one."""
    if caf_id is None:
        return Calendar(campaign.opens_at, campaign.closes_at, CAMPAIGN_TIMEZONE)
    caf = db.get(Caf, caf_id)
    opens_at, closes_at, own = campaign_window_of_caf(campaign, caf, caf_windows(db, campaign.id).get(caf_id))
    return Calendar(opens_at, closes_at, caf.timezone, own)


def _scoped(query, caf_id):
    return query.where(Project.caf_id == caf_id) if caf_id is not None else query


def campaign_figures(db: Session, campaign: Campaign, caf_id: int | None, today: datetime,
                     sort: str = "retard") -> Figures:
    """Every figure of the dashboard, for one Caf (``caf_id``) or all of them, beside the previous campaign's;
    nationally, the Cafs side by side (in ``sort`` order).

    The timeline runs from the opening to the closing (or today, if sooner) of
    that Caf when it has its own window, in its zone; of the campaign otherwise.
    """
    calendar = campaign_calendar(db, campaign, caf_id)
    tz = calendar.timezone
    definition = campaign_definition(campaign)
    base = _scoped(select(Response).join(Project).where(Response.campaign_id == campaign.id), caf_id)
    by_state = {state: 0 for state in ResponseState}
    fingerprint = (0, 0)
    for state, count, ids, versions in db.execute(base.with_only_columns(
            Response.state, func.count(), func.sum(Response.id), func.sum(Response.version)).group_by(Response.state)):
        by_state[state] = count
        if state in TRANSMITTED:
            fingerprint = (fingerprint[0] + int(ids), fingerprint[1] + int(versions))
    total = sum(by_state.values())
    transmitted = sum(by_state[s] for s in TRANSMITTED)
    first_sent = _scoped(
        select(func.min(ResponseEvent.at)).join(Response, Response.id == ResponseEvent.response_id).join(Project)
        .where(Response.campaign_id == campaign.id, ResponseEvent.kind == EventKind.SUBMITTED)
        .group_by(ResponseEvent.response_id), caf_id)
    days = Counter(local(moment, tz).date() for moment in db.scalars(first_sent))
    timeline = _timeline(days, local(calendar.opens_at, tz).date(), min(local(today, tz).date(), local(calendar.closes_at, tz).date()))
    closed = [q for q in definition.questions.values() if q.chart]
    before = last_year(db, campaign, caf_id, count_answers)
    by_caf = caf_rows(db, campaign, before and before.campaign, sort) if caf_id is None else []
    distributions = count_answers(db, closed, campaign.id, caf_id, (transmitted, *fingerprint))
    return Figures(total, by_state, transmitted, timeline, distributions, by_caf, calendar, before)


def _timeline(days: Counter, first: date, last: date) -> list[tuple[date, int]]:
    points, running, day = [], 0, first
    running += sum(count for d, count in days.items() if d < first)
    while day <= last:
        running += days.get(day, 0)
        points.append((day, running))
        day += timedelta(days=1)
    return points


# The counts this process made last, by scope and by the fingerprint of the bilans counted: between two
# views of a dashboard, most of the time, no bilan was transmitted, changed or reopened.
_counts: dict[tuple, tuple[dict[str, Counter], Counter]] = {}
COUNTS_KEPT = 128


def forget_counts():
    _counts.clear()


def count_answers(db, closed, campaign_id, caf_id, fingerprint: tuple | None = None) -> list[Distribution]:
    """The distribution of each of the ``closed`` questions among a campaign's transmitted bilans (one statement).

    Given the ``fingerprint`` of those bilans (how many, the sums of their ids and of their versions), the
    counts are kept in this process until it changes: a bilan transmitted, reopened or moved to another Caf
    changes the sum of the ids, and any change to a bilan moves its version.
    """
    if not closed:
        return []
    key = (campaign_id, caf_id, tuple(q.code for q in closed), fingerprint) if fingerprint else None
    kept = _counts.get(key) if key else None
    if kept is None:
        kept = _count(db, closed, campaign_id, caf_id)
        if key:
            keep(_counts, key, kept, COUNTS_KEPT)
    counts, answered = kept
    return [Distribution(question, question.distribution(counts[question.code]), answered[question.code])
            for question in closed]


def _count(db, closed, campaign_id, caf_id) -> tuple[dict[str, Counter], Counter]:
    if db.get_bind().dialect.name == "postgresql":
        return _counts_in_sql(db, closed, campaign_id, caf_id)
    return counts_in_python(db, closed, transmitted_responses(campaign_id, caf_id), Response.short_answers)


def transmitted_responses(campaign_id: int, caf_id: int | None):
    """The transmitted responses of the campaign (of one Caf, or all)."""
    return _scoped(select(Response).join(Project).where(Response.campaign_id == campaign_id,
                                                         Response.state.in_(TRANSMITTED)), caf_id)


def counts_in_python(db, closed, responses, column=Response.answers) -> tuple[dict[str, Counter], Counter]:
    """How often each choice (each (row, column) of a grid) was picked, and how many answered each question.

    The straightforward way, and the fallback off PostgreSQL: decodes the
    answers (or ``column``, e.g. the short answers) of every one of
    ``responses`` (a select of responses).
    """
    counts = {q.code: Counter() for q in closed}
    answered = Counter()
    query = responses.with_only_columns(column).execution_options(yield_per=500)
    for answers in db.scalars(query):
        for question in closed:
            _tally(question, answers.get(question.code), 1, counts[question.code], answered)
    return counts, answered


def _tally(question, value, times: int, counts: Counter, answered: Counter):
    """Count ``value``, an answer to ``question`` given ``times`` times."""
    if value in (None, [], {}):
        return
    answered[question.code] += times
    for key in question.tally(value):
        counts[key] += times


# PostgreSQL splits each response's short answers (never a long bilan) once
# (json_each) and counts each distinct value of each closed question; a grid's
# answer is split again into its cells, since two real bilans hardly ever share
# a whole grid (grouped whole, the grids sent back one row per bilan: 8,312 rows
# at 3,000 bilans, against 126 by cell). The cells are numbered: each answered
# grid has one first cell, which counts the bilans that answered it.
_VALUES_SQL = """
SELECT e.key, c.key, COALESCE(c.value, e.value)::text, count(*), count(*) FILTER (WHERE c.n = 1)
FROM responses AS r JOIN projects AS p ON p.id = r.project_id CROSS JOIN LATERAL json_each(r.short_answers) AS e
LEFT JOIN LATERAL json_each(CASE WHEN e.key IN :grids AND json_typeof(e.value) = 'object' THEN e.value END)
  WITH ORDINALITY AS c(key, value, n) ON true
WHERE r.campaign_id = :campaign_id AND r.state IN :states AND (p.caf_id = :caf_id OR :all_cafs) AND e.key IN :codes
GROUP BY 1, 2, 3
"""


def _counts_in_sql(db, closed, campaign_id, caf_id) -> tuple[dict[str, Counter], Counter]:
    """As :func:`counts_in_python`, from the distinct values PostgreSQL counted (the same figures)."""
    counts = {q.code: Counter() for q in closed}
    answered = Counter()
    if not closed:
        return counts, answered
    questions = {q.code: q for q in closed}
    grids = [q.code for q in closed if q.tallies_cells] or [""]
    statement = text(_VALUES_SQL).bindparams(*(bindparam(name, expanding=True) for name in ("states", "codes", "grids")))
    rows = db.execute(statement, {"campaign_id": campaign_id, "caf_id": caf_id or 0, "all_cafs": caf_id is None,
                                  "states": [state.value for state in TRANSMITTED], "codes": list(questions),
                                  "grids": grids})
    for code, row, value, times, firsts in rows:
        if row is None:
            _tally(questions[code], json.loads(value), times, counts[code], answered)
        else:  # one cell of a grid (the key tally() gives); each answered grid has one first cell
            counts[code][(row, json.loads(value))] += times
            answered[code] += firsts
    return counts, answered
