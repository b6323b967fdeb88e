"""Answering: save a page (partner or reviewer), transmit to the Caf."""
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..deadline import partner_window
from ..engine.answers import find_problems, is_visible, prune_hidden, rule_errors
from ..engine.definition import Page
from ..engine.questions.base import Outcome
from ..engine.timefmt import format_datetime
from ..errors import IllegalTransition, IncompleteResponse, QuestionnaireClosed, StaleVersion
from ..mail.occasions import plan_receipt
from ..models import Contact, EventKind, Response, ResponseEvent, ResponseState, User
from ..questionnaires import response_definition
from ..uploads import UploadRefused, UploadStore

STALE_MESSAGE = (
    "Ce bilan a été modifié ailleurs (par un autre contact, par la Caf ou dans un autre onglet) depuis que vous avez "
    "ouvert cette page. Vos saisies n'ont pas été enregistrées : elles sont affichées ci-dessous. "
    "Vérifiez-les puis enregistrez de nouveau."
)


@dataclass(frozen=True)
class Actor:
    """Who writes: a partner's contact (through a personal link) or a Caf user."""

    contact: Contact | None = None
    user: User | None = None

    @property
    def is_partner(self) -> bool:
        return self.user is None

    def event(self, response: Response, kind: EventKind, now: datetime, **values) -> ResponseEvent:
        return ResponseEvent(**self.event_row(response, kind, now, **values))

    def event_row(self, response: Response, kind: EventKind, now: datetime, **values) -> dict:
        """A history line's columns, for inserting many at once."""
        return dict(response_id=response.id, kind=kind, at=now, user_id=self.user.id if self.user else None,
                    contact_id=self.contact.id if self.contact else None, **values)


def ensure_partner_can_edit(response: Response, now: datetime):
    """Refuse any partner write outside its window: deadline, extension or correction delay."""
    if response.is_validated:
        raise IllegalTransition("Ce bilan a été validé par la Caf : il ne peut plus être modifié.")
    if response.is_submitted:
        raise IllegalTransition("Ce bilan a déjà été transmis à la Caf : il ne peut plus être modifié.")
    window = partner_window(response)
    if window.is_correction_delay:
        if window.has_closed(now):
            raise QuestionnaireClosed(f"Le délai de correction accordé par la Caf a pris fin le "
                                      f"{format_datetime(window.closes_at, window.timezone)}.")
        return
    if response.state is ResponseState.CORRECTION_REQUESTED:  # a request without delay: never, but refuse
        raise QuestionnaireClosed("Le délai de correction accordé par la Caf a pris fin.")
    if not window.has_opened(now):
        raise QuestionnaireClosed(f"Le questionnaire n'est pas encore ouvert : il ouvrira le "
                                  f"{format_datetime(window.opens_at, window.timezone)}.")
    if window.has_closed(now):
        raise QuestionnaireClosed(
            f"Le questionnaire est fermé depuis le {format_datetime(window.closes_at, window.timezone)}. "
            "Vos réponses enregistrées sont conservées, mais elles ne peuvent plus être modifiées ni transmises."
        )


def ensure_can_edit(response: Response, actor: Actor, now: datetime):
    """Partners answer within their window; Caf users correct until validation."""
    if actor.is_partner:
        ensure_partner_can_edit(response, now)
    elif response.is_validated:
        raise IllegalTransition("Ce bilan est validé : un administrateur doit le rouvrir avant toute correction.")


@dataclass
class PageSave:
    """What saving a page did: the errors to show back (code -> messages), and if it was stored."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    saved: bool = True


def _apply(answers, invalid, errors, code, outcome, keeps_invalid):
    if outcome.errors:
        errors[code] = list(outcome.errors)
        answers.pop(code, None)
        if keeps_invalid and outcome.raw:
            invalid[code] = {"value": outcome.raw, "errors": list(outcome.errors)}
        else:
            invalid.pop(code, None)
        return
    invalid.pop(code, None)
    if outcome.value is None:
        answers.pop(code, None)
    else:
        answers[code] = outcome.value


def snapshot(answers: dict, invalid: dict) -> dict:
    """Everything stored, valid or not, as the history records it."""
    state = dict(answers)
    state.update({code: {"invalid": entry["value"]} for code, entry in invalid.items()})
    return state


def record_changes(db: Session, response: Response, before: dict, after: dict, actor: Actor, now: datetime, reason=None):
    """Append one history line per changed code (one INSERT for all: a save is the commonest write)."""
    rows = [actor.event_row(response, EventKind.ANSWER, now, code=code, old_value=before.get(code),
                            new_value=after.get(code), reason=reason or None)
            for code in sorted(before.keys() | after.keys()) if before.get(code) != after.get(code)]
    if rows:
        db.execute(insert(ResponseEvent.__table__), rows)  # the table: a plain INSERT, no ORM bulk machinery


def save_page(db: Session, response: Response, page: Page, outcomes: Mapping[str, Outcome], expected_version: int | None,
              now: datetime, store: UploadStore, actor: Actor = Actor(), reason: str | None = None) -> PageSave:
    """Save a page's answers and commit, recording each change in the history.

    ``outcomes`` maps the page's question codes to what was answered (a view
    reads them from its form: ``PageForm.outcomes``); a question left out
    keeps its answer. A document to attach is an outcome whose ``raw`` has a
    ``filename`` and a ``stream`` (:class:`~survey.uploads.Upload`), or
    ``"remove"``; ``store`` keeps it. For a partner, a free-text value that
    fails a check is kept in ``invalid`` with its message, so nothing typed is
    lost. A Caf user's correction is all-or-nothing: with any error nothing
    is stored (``saved`` is False). Raises :class:`StaleVersion` if the page
    was opened on another version than ``expected_version``.
    """
    ensure_can_edit(response, actor, now)
    if expected_version != response.version:
        raise StaleVersion(STALE_MESSAGE)
    definition = response_definition(response)
    before = snapshot(response.answers, response.invalid)
    answers, invalid = dict(response.answers), dict(response.invalid)
    result = PageSave()
    stored, discarded = [], []
    try:
        for question in page.questions:
            outcome = outcomes.get(question.code)
            if outcome is None or not is_visible(question, answers):
                continue
            if question.is_upload:
                _apply_upload(question, outcome, answers, result, stored, discarded, store)
                continue
            _apply(answers, invalid, result.errors, question.code, outcome, question.keeps_invalid)
            for code, sub in outcome.extra.items():
                _apply(answers, invalid, result.errors, code, sub, True)
        prune_hidden(definition, answers, invalid)
        for code, message in rule_errors(definition, answers).items():
            if any(code in q.owned_codes() for q in page.questions):
                result.errors.setdefault(code, []).append(message)
        if result.errors and not actor.is_partner:
            db.rollback()
            _delete_files(store, stored)
            result.saved = False
            return result
        after = snapshot(answers, invalid)
        if not actor.is_partner and after != before:
            response.annotated = True  # the partner will see the Caf's change beside the question
        response.record_edit(answers, invalid, now, definition.free_text_codes)
        db.flush()
        record_changes(db, response, before, after, actor, now, reason)
        db.commit()
    except StaleDataError:
        db.rollback()
        _delete_files(store, stored)
        raise StaleVersion(STALE_MESSAGE) from None
    except BaseException:
        db.rollback()
        _delete_files(store, stored)
        raise
    # Only once the new answers are committed may the replaced files go. The
    # history keeps their names; the bytes of replaced documents are not kept.
    _delete_files(store, discarded)
    return result


def _apply_upload(question, outcome, answers, result, stored, discarded, store):
    previous = answers.get(question.code)
    if outcome.raw is None:
        return
    if outcome.raw == "remove":
        answers.pop(question.code, None)
    else:
        try:
            new_file = store.store(outcome.raw)
        except UploadRefused as refused:
            result.errors[question.code] = [refused.message]
            return
        stored.append(new_file.key)
        answers[question.code] = new_file.as_answer()
    if previous:
        discarded.append(previous["key"])


def _delete_files(store, keys):
    for key in keys:
        store.delete(key)


def flush_then_commit(db: Session, *events: ResponseEvent, also=None):
    """Write the response's guarded UPDATE first, then its history lines (and ``also(db)``), then commit.

    Taking the response row's lock before inserting rows that reference it
    keeps two simultaneous writers from deadlocking on PostgreSQL: the second
    waits for the first, then finds a new version (StaleDataError).
    """
    db.flush()
    db.add_all(events)
    if also is not None:
        also(db)
    db.commit()


def new_receipt() -> str:
    return f"BQ-{secrets.token_hex(5).upper()}"


def submit_response(db: Session, response: Response, expected_version: int | None, now: datetime,
                    actor: Actor = Actor()) -> Response:
    """Transmit a complete, valid response to its Caf (also after a correction request).

    Exactly one of two simultaneous transmissions wins; the other raises
    :class:`IllegalTransition` (already transmitted) or :class:`StaleVersion`.
    """
    ensure_partner_can_edit(response, now)
    if expected_version != response.version:
        raise StaleVersion(
            "Ce bilan a été modifié ailleurs depuis que vous avez ouvert le récapitulatif : "
            "relisez-le avant de le transmettre."
        )
    problems = find_problems(response_definition(response), response.answers, response.invalid)
    if problems:
        raise IncompleteResponse("Le bilan ne peut pas encore être transmis : des réponses manquent ou sont à corriger.", problems)
    # Never transmitted before, it cannot have been sent back: its receipts are the reference's first round
    # (no need to read its correction requests to count them).
    first_transmission = response.receipt is None
    response.mark_submitted(now, new_receipt())
    try:
        flush_then_commit(db, actor.event(response, EventKind.SUBMITTED, now, new_value=response.receipt),
                          also=lambda db: plan_receipt(db, response, now, first_transmission))
    except StaleDataError:
        db.rollback()
        db.refresh(response)
        if response.is_submitted:
            raise IllegalTransition("Ce bilan vient d'être transmis à la Caf par un autre contact.") from None
        raise StaleVersion("Ce bilan a été modifié ailleurs : relisez-le avant de le transmettre.") from None
    return response
