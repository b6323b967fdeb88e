"""Who a round may write to: the contacts of eligible projects not yet served, and the projects reminded today.

Everything here is a SQL query or condition, never a loop over projects: a
national round is counted and paged through by the database, and its
preview composes only the messages it shows.
"""
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, exists, literal, or_, select
from sqlalchemy.orm import Session

from ..deadline import CAMPAIGN_TIMEZONE, awaits_partner_clause, caf_zones
from ..engine.timefmt import local
from ..models import Caf, Contact, EmailKind, EmailLog, EmailStatus, Project, Response, ResponseState
from ..models.types import UTCDateTime

# An invitation is pointless once the bilan is with the Caf.
NOT_INVITED = (ResponseState.SUBMITTED, ResponseState.VALIDATED)


def same_occasion(round_):
    """Rows that make a contact already served for this round.

    A reminder ``J-14`` and a Caf's own ``J-14/731`` are the same occasion: a
    contact gets one reminder per number of days, whoever asked for it.
    """
    if round_.kind is EmailKind.REMINDER:
        base = f"J-{round_.days_before}"
        return or_(EmailLog.round == base, EmailLog.round == literal(f"{base}/") + Caf.number)
    return EmailLog.round == round_.label


def in_scope(query: Select, round_) -> Select:
    """``query`` (joining Response, Project and Caf) narrowed to the round's campaign, Caf, or response."""
    query = query.where(Response.campaign_id == round_.campaign.id)
    if round_.caf_number:
        query = query.where(Caf.number == round_.caf_number)
    if round_.other_cafs:
        query = query.where(Caf.number.not_in(round_.other_cafs))
    if round_.response_id:
        query = query.where(Response.id == round_.response_id)
    return query


def eligible(db: Session, round_, now: datetime):
    """The condition on a response for the round to concern it at all.

    Reminders go only to those who may still answer (the deadline's one rule);
    a campaign's invitations never to a transmitted or validated bilan.
    """
    if round_.kind is EmailKind.REMINDER:
        return awaits_partner_clause(db, round_.campaign, now)
    if round_.kind is EmailKind.INVITATION and round_.response_id is None:
        return Response.state.not_in(NOT_INVITED)
    return literal(True)


def candidates(db: Session, round_, now: datetime) -> Select:
    """(contact, response) pairs the round concerns that have no row for it yet, by project then contact.

    A round launched from the Caf's pages (``once_a_day``) leaves out the
    projects already reminded today (:func:`reminded_today`).
    """
    already = exists().where(EmailLog.kind == round_.kind, EmailLog.contact_id == Contact.id,
                             EmailLog.response_id == Response.id, same_occasion(round_))
    query = (select(Contact, Response)
             .join(Project, Contact.project_id == Project.id)
             .join(Response, Response.project_id == Project.id)
             .join(Caf, Project.caf_id == Caf.id)
             .where(Contact.withdrawn_at.is_(None), ~already, eligible(db, round_, now))
             .order_by(Project.reference, Contact.id))
    if round_.kind is EmailKind.REMINDER and round_.once_a_day:
        query = query.where(~reminded_today(db, now))
    return in_scope(query, round_)


def refused_today(db: Session, round_, now: datetime) -> Select:
    """The projects (their responses) the round would remind but for a reminder already planned today."""
    query = (select(Response.id, Project.reference)
             .join(Project, Response.project_id == Project.id)
             .join(Caf, Project.caf_id == Caf.id)
             .where(eligible(db, round_, now), reminded_today(db, now))
             .order_by(Project.reference))
    return in_scope(query, round_)


def reminded_today(db: Session, now: datetime):
    """The condition: a reminder to the response was planned since midnight in its Caf's zone (and not skipped).

    Whatever its round: from the Caf's pages, a partner gets at most one reminder a day.
    The query must join ``Caf``.
    """
    zones = [zone for zone in caf_zones(db) if zone != CAMPAIGN_TIMEZONE]
    midnight = (case({zone: _midnight(now, zone) for zone in zones}, value=Caf.timezone,
                     else_=_midnight(now, CAMPAIGN_TIMEZONE)) if zones else _midnight(now, CAMPAIGN_TIMEZONE))
    return exists().where(EmailLog.response_id == Response.id, EmailLog.kind == EmailKind.REMINDER,
                          EmailLog.status != EmailStatus.SKIPPED, EmailLog.planned_at >= midnight)


def _midnight(now: datetime, zone: str):
    day = local(now, zone).date()
    return literal(datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)), UTCDateTime())

