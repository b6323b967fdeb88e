"""Reading a response's history, and showing its values to people."""
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .definition import Definition
from .operations import response_definition
from .models import EventKind, Response, ResponseEvent


def events_of(db: Session, response: Response) -> list[ResponseEvent]:
    """Every history line of the response, oldest first."""
    return list(db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response.id)
                           .order_by(ResponseEvent.at, ResponseEvent.id)))


def partner_annotations(db: Session, response: Response) -> tuple[dict[str, list], set[str]]:
    """What the partner's pages flag, in one query: the Caf's answer changes by
    question code (follow-ups under their question), and the codes whose answer
    is still the one carried over from the previous year."""
    if not response.annotated:
        return {}, set()
    owner = response_definition(response).owner_of
    query = (select(ResponseEvent.kind, ResponseEvent.code, ResponseEvent.at, ResponseEvent.old_value,
                    ResponseEvent.new_value, ResponseEvent.reason)
             .where(ResponseEvent.response_id == response.id,
                    or_(ResponseEvent.kind == EventKind.CARRIED_OVER,
                        (ResponseEvent.kind == EventKind.ANSWER) & ResponseEvent.user_id.is_not(None)))
             .order_by(ResponseEvent.at, ResponseEvent.id))
    changes: dict[str, list] = {}
    carried = set()
    for event in db.execute(query):
        if event.kind is EventKind.CARRIED_OVER:
            if response.answers.get(event.code) == event.new_value:
                carried.add(event.code)
        else:
            changes.setdefault(owner.get(event.code, event.code), []).append(event)
    return changes, carried


def display_value(definition: Definition, code: str, value) -> str:
    """A stored value as one line of French text."""
    if value is None:
        return "(vide)"
    if isinstance(value, dict) and set(value) == {"invalid"}:
        return f"« {value['invalid']} » (à corriger)"
    question = definition.questions.get(code)
    if question is None:
        return str(value)
    lines = question.display(value)
    return " ; ".join(lines) if lines else "(vide)"


def label_of(definition: Definition, code: str) -> str:
    for question in definition.questions.values():
        if code == question.code:
            return question.label
        if code in question.owned_codes():
            return f"{question.label} – précision"
    return code
