"""Reading a response's history, and showing its values to people."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .engine.definition import Definition
from .models import EventKind, Response, ResponseEvent
from .questionnaires import response_definition


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


# A partner's saves less than this apart belong to one sitting.
SITTING_GAP = timedelta(minutes=30)


@dataclass
class Sitting:
    """Consecutive answer changes of the partner, folded into one line of the compact history."""

    events: list[ResponseEvent]

    @property
    def started_at(self) -> datetime:
        return self.events[0].at

    @property
    def ended_at(self) -> datetime:
        return self.events[-1].at

    @property
    def actor(self) -> str:
        return self.events[0].actor

    @property
    def last_values(self) -> dict:
        """Each question's value at the end of the sitting, in the order first changed."""
        values = {}
        for event in self.events:
            values[event.code] = event.new_value
        return values


@dataclass
class CompactHistory:
    """What a reviewer reads first: the answers changed since the first transmission,
    then the Caf's changes and decisions, with the partner's sittings folded."""

    first_submitted_at: datetime | None
    changed_since_submission: list[tuple[str, object, object]]  # (code, value then, value now)
    entries: list  # ResponseEvent or Sitting, oldest first
    total: int


def compact_history(events: list[ResponseEvent], answers: dict) -> CompactHistory:
    """Fold ``events`` (oldest first) for reading: partner answer changes grouped by sitting."""
    first_submitted_at, then = None, {}
    for event in events:
        if first_submitted_at is None and event.kind is EventKind.SUBMITTED:
            first_submitted_at = event.at
        elif first_submitted_at is not None and event.kind is EventKind.ANSWER:
            then.setdefault(event.code, event.old_value)  # the value it had at the first transmission
    changed = [(code, old, answers.get(code)) for code, old in then.items() if answers.get(code) != old]
    entries: list = []
    for event in events:
        if event.kind in (EventKind.ANSWER, EventKind.CARRIED_OVER) and not event.by_caf:
            last = entries[-1] if entries else None
            if (isinstance(last, Sitting) and last.events[-1].contact_id == event.contact_id
                    and event.at - last.ended_at <= SITTING_GAP):
                last.events.append(event)
            else:
                entries.append(Sitting([event]))
        else:
            entries.append(event)
    return CompactHistory(first_submitted_at, changed, entries, len(events))


def changed_values(definition: Definition, code: str, old, new) -> tuple[str, str]:
    """Old and new values as text; for a grid, only the rows that changed."""
    question = definition.questions.get(code)
    if question is not None and not any(isinstance(v, dict) and "invalid" in v for v in (old, new)):
        old, new = question.changed_parts(old, new)
    return display_value(definition, code, old), display_value(definition, code, new)
