"""Last year beside this one, and the Cafs beside each other: what the dashboard compares.

Every figure here is read in a fixed number of grouped statements, whatever the
number of projects or of Cafs.
"""
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from ..models import Caf, Campaign, Project, Response, ResponseState
from ..questionnaires import campaign_definition
from .kept import keep

TRANSMITTED = (ResponseState.SUBMITTED, ResponseState.CORRECTION_REQUESTED, ResponseState.VALIDATED)
# The partner has the next move: not started, being answered, or sent back for a correction.
AWAITING_PARTNER = (ResponseState.NOT_STARTED, ResponseState.IN_PROGRESS, ResponseState.CORRECTION_REQUESTED)


@dataclass
class LastYear:
    """The previous campaign's figures, for the questions asked identically this year."""

    campaign: Campaign
    total: int
    transmitted: int
    # code -> Distribution of the previous campaign (only questions asked the same way)
    distributions: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.transmitted / self.total if self.total else 0.0


@dataclass
class CafRow:
    """One Caf's progress in the campaign (a line of the administrators' table)."""

    caf: Caf
    total: int
    transmitted: int
    to_review: int
    validated: int
    awaiting_partner: int
    last_year_rate: float | None = None

    @property
    def rate(self) -> float:
        return self.transmitted / self.total if self.total else 0.0


def previous_campaign(db: Session, campaign: Campaign) -> Campaign | None:
    """The latest campaign opened before this one in which this campaign's projects answered.

    The programme is the projects': a campaign of another programme, with none
    of these projects, is never taken for last year (as carry-over finds a
    project's previous response).
    """
    earlier, current = aliased(Response), aliased(Response)
    shares_projects = exists(select(earlier.id).join(current, current.project_id == earlier.project_id)
                             .where(earlier.campaign_id == Campaign.id, current.campaign_id == campaign.id))
    return db.scalars(select(Campaign).where(Campaign.opens_at < campaign.opens_at, shares_projects)
                      .order_by(Campaign.opens_at.desc()).limit(1)).first()


def asked_identically(definition, previous_definition) -> list:
    """This year's charted questions asked last year with the same code, wording, kind and options."""
    result = []
    for question in definition.questions.values():
        before = previous_definition.questions.get(question.code)
        if question.chart and before is not None and question.same_as(before):
            result.append(question)
    return result


# Last year's distributions by (campaign, Caf, questions, fingerprint of its responses). Counting them
# costs as much as this year's; they seldom change once the campaign is over, and every request checks
# the fingerprint (how many responses, the sum of their versions: any write to a response bumps its
# version), so a figure is never served once its responses changed.
_counted: dict[tuple, dict] = {}
COUNTED_KEPT = 64


def last_year(db: Session, campaign: Campaign, caf_id: int | None, count_answers) -> LastYear | None:
    """The previous campaign's response rate and distributions (one Caf, or all); None without one.

    ``count_answers(db, questions, campaign_id, caf_id)`` gives the distributions
    (the dashboard's own counting, so both years are counted alike).
    """
    previous = previous_campaign(db, campaign)
    if previous is None:
        return None
    query = (select(func.count(), func.count().filter(Response.state.in_(TRANSMITTED)),
                    func.coalesce(func.sum(Response.version), 0))
             .select_from(Response).join(Project).where(Response.campaign_id == previous.id))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    total, transmitted, versions = db.execute(query).one()
    if not total:  # a Caf with no project last year: nothing to compare
        return None
    questions = asked_identically(campaign_definition(campaign), campaign_definition(previous))
    key = (previous.id, caf_id, tuple(q.code for q in questions), total, transmitted, int(versions))
    distributions = _counted.get(key)
    if distributions is None:
        distributions = {d.question.code: d for d in count_answers(db, questions, previous.id, caf_id)}
        keep(_counted, key, distributions, COUNTED_KEPT)
    return LastYear(previous, total, transmitted, distributions)


def forget_counted():
    _counted.clear()


def _number(row):
    """A Caf's number in numeric order (99 before 100; numbers are text, "2A" is one)."""
    return len(row.caf.number), row.caf.number


SORTS = {
    # Latest first: the lowest response rate, then the most projects still with the partner.
    "retard": lambda row: (row.rate, -row.awaiting_partner, _number(row)),
    "caf": _number,
    "taux": lambda row: (-row.rate, _number(row)),
}


def counted(states):
    """How many of the group's responses are in one of ``states``."""
    return func.count(Response.id).filter(Response.state.in_(states))


def caf_rows(db: Session, campaign: Campaign, previous: Campaign | None, sort: str = "retard") -> list[CafRow]:
    """Every Caf of the campaign side by side, in two grouped statements (this year, last year)."""
    rows = db.execute(
        select(Caf, func.count(Response.id), counted(TRANSMITTED), counted([ResponseState.SUBMITTED]),
               counted([ResponseState.VALIDATED]), counted(AWAITING_PARTNER))
        .join(Project, Project.caf_id == Caf.id).join(Response, Response.project_id == Project.id)
        .where(Response.campaign_id == campaign.id).group_by(Caf.id))
    result = [CafRow(*row) for row in rows]
    if previous is not None:
        before = {caf_id: (total, done) for caf_id, total, done in db.execute(
            select(Project.caf_id, func.count(Response.id), counted(TRANSMITTED)).join(Response)
            .where(Response.campaign_id == previous.id).group_by(Project.caf_id))}
        for row in result:
            if row.caf.id in before and before[row.caf.id][0]:
                total, done = before[row.caf.id]
                row.last_year_rate = done / total
    return sorted(result, key=SORTS.get(sort, SORTS["retard"]))
