"""Campaign figures for the dashboard: states, the response rate over time, answer distributions."""
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .definition import campaign_definition
from .models import Caf, Campaign, EventKind, Project, Response, ResponseEvent, ResponseState
from .timefmt import local

TRANSMITTED = (ResponseState.SUBMITTED, ResponseState.CORRECTION_REQUESTED, ResponseState.VALIDATED)


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
    by_caf: list            # (caf, total, transmitted) for administrators

    @property
    def rate(self) -> float:
        return self.transmitted / self.total if self.total else 0.0


def _scoped(query, caf_id):
    return query.where(Project.caf_id == caf_id) if caf_id is not None else query


def campaign_figures(db: Session, campaign: Campaign, caf_id: int | None, today: datetime, tz="Europe/Paris") -> Figures:
    """Every figure of the dashboard, for one Caf (``caf_id``) or all of them."""
    definition = campaign_definition(campaign)
    base = _scoped(select(Response).join(Project).where(Response.campaign_id == campaign.id), caf_id)
    by_state = {state: 0 for state in ResponseState}
    for state, count in db.execute(base.with_only_columns(Response.state, func.count()).group_by(Response.state)):
        by_state[state] = count
    total = sum(by_state.values())
    transmitted = sum(by_state[s] for s in TRANSMITTED)
    first_sent = _scoped(
        select(func.min(ResponseEvent.at)).join(Response, Response.id == ResponseEvent.response_id).join(Project)
        .where(Response.campaign_id == campaign.id, ResponseEvent.kind == EventKind.SUBMITTED)
        .group_by(ResponseEvent.response_id), caf_id)
    days = Counter(local(moment, tz).date() for moment in db.scalars(first_sent))
    timeline = _timeline(days, local(campaign.opens_at, tz).date(), min(local(today, tz).date(), local(campaign.closes_at, tz).date()))
    return Figures(total, by_state, transmitted, timeline, _distributions(db, definition, base), _by_caf(db, campaign, caf_id))


def _timeline(days: Counter, first: date, last: date) -> list[tuple[date, int]]:
    points, running, day = [], 0, first
    running += sum(count for d, count in days.items() if d < first)
    while day <= last:
        running += days.get(day, 0)
        points.append((day, running))
        day += timedelta(days=1)
    return points


def _distributions(db, definition, base) -> list[Distribution]:
    closed = [q for q in definition.questions.values() if q.chart]
    counts = {q.code: Counter() for q in closed}
    answered = Counter()
    query = base.where(Response.state.in_(TRANSMITTED)).with_only_columns(Response.answers).execution_options(yield_per=500)
    for answers in db.scalars(query):
        for question in closed:
            value = answers.get(question.code)
            if value in (None, [], {}):
                continue
            answered[question.code] += 1
            counts[question.code].update(question.tally(value))
    result = []
    for question in closed:
        found = counts[question.code]
        result.append(Distribution(question, question.distribution(found), answered[question.code]))
    return result


def _by_caf(db, campaign, caf_id) -> list[tuple[Caf, int, int]]:
    if caf_id is not None:
        return []
    rows = db.execute(
        select(Caf, func.count(Response.id), func.count(Response.id).filter(Response.state.in_(TRANSMITTED)))
        .join(Project, Project.caf_id == Caf.id).join(Response, Response.project_id == Project.id)
        .where(Response.campaign_id == campaign.id).group_by(Caf.id).order_by(Caf.number))
    return [tuple(row) for row in rows]
