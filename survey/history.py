"""Reading a response's history, and showing its values to people."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from .definition import Definition
from .models import EventKind, Response, ResponseEvent


def events_of(db: Session, response: Response) -> list[ResponseEvent]:
    """Every history line of the response, oldest first."""
    return list(db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response.id)
                           .order_by(ResponseEvent.at, ResponseEvent.id)))


def caf_changes(db: Session, response: Response) -> dict[str, list[ResponseEvent]]:
    """Answer changes made by the Caf, by question code (follow-ups under their question)."""
    definition_codes = {}
    from .operations import response_definition
    for question in response_definition(response).questions.values():
        for code in question.owned_codes():
            definition_codes[code] = question.code
    changes: dict[str, list[ResponseEvent]] = {}
    query = (select(ResponseEvent).where(ResponseEvent.response_id == response.id, ResponseEvent.kind == EventKind.ANSWER,
                                         ResponseEvent.user_id.is_not(None))
             .order_by(ResponseEvent.at, ResponseEvent.id))
    for event in db.scalars(query):
        changes.setdefault(definition_codes.get(event.code, event.code), []).append(event)
    return changes


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
