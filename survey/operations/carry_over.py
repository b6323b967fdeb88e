"""Start a new year's bilan from the previous year's answers to unchanged questions."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..engine.answers import prune_hidden
from ..errors import DomainError, StaleVersion
from ..models import Campaign, EventKind, Response, ResponseEvent
from ..questionnaires import campaign_definition
from .answering import STALE_MESSAGE, Actor, ensure_partner_can_edit, flush_then_commit, response_definition


def previous_response(db: Session, response: Response) -> Response | None:
    """The same project's response to the latest earlier campaign, if it has answers."""
    query = (select(Response).join(Campaign).where(Response.project_id == response.project_id,
                                                   Campaign.opens_at < response.campaign.opens_at)
             .order_by(Campaign.opens_at.desc()))
    return next((r for r in db.scalars(query) if r.answers), None)


def carried_codes(db: Session, response: Response) -> set[str]:
    """Codes whose answer came from the previous year (and is still the one carried)."""
    events = db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response.id,
                                                    ResponseEvent.kind == EventKind.CARRIED_OVER))
    return {event.code for event in events if response.answers.get(event.code) == event.new_value}


def carry_over_plan(db: Session, response: Response) -> tuple[Response | None, dict]:
    """The previous response and the answers it would give (unchanged questions, empty here)."""
    previous = previous_response(db, response)
    if previous is None or carried_codes(db, response) or _already_done(db, response):
        return previous, {}
    old = campaign_definition(previous.campaign)
    new = response_definition(response)
    plan = {}
    for question in new.questions.values():
        before = old.questions.get(question.code)
        if before is None or not question.carries_over or not question.same_as(before):
            continue
        for code in question.owned_codes():
            if code in previous.answers and code not in response.answers:
                plan[code] = previous.answers[code]
    return previous, plan


def _already_done(db, response):
    return db.scalar(select(ResponseEvent.id).where(ResponseEvent.response_id == response.id,
                                                    ResponseEvent.kind == EventKind.CARRIED_OVER).limit(1)) is not None


def carry_over(db: Session, response: Response, expected_version, now: datetime, actor: Actor) -> list[str]:
    """Copy the previous year's answers to unchanged, unanswered questions; returns their codes.

    Answers already given (or prefilled by the import) are never overwritten;
    attachments are not carried. Each carried answer is one history line.
    """
    ensure_partner_can_edit(response, now)
    if expected_version != response.version:
        raise StaleVersion(STALE_MESSAGE)
    previous, plan = carry_over_plan(db, response)
    if not plan:
        raise DomainError("Aucune réponse de l'année précédente ne peut être reprise.")
    answers, invalid = dict(response.answers), dict(response.invalid)
    answers.update(plan)
    definition = response_definition(response)
    prune_hidden(definition, answers, invalid)
    response.annotated = True  # the partner will see which answers were carried over
    response.record_edit(answers, invalid, now, definition.free_text_codes)
    source = previous.campaign.title
    try:
        flush_then_commit(db, *(actor.event(response, EventKind.CARRIED_OVER, now, code=code, new_value=answers[code],
                                            reason=f"repris de « {source} »") for code in sorted(plan) if code in answers))
    except StaleDataError:
        db.rollback()
        raise StaleVersion(STALE_MESSAGE) from None
    return [code for code in plan if code in answers]
