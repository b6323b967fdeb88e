import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import Base
from ..errors import IllegalTransition
from .campaign import Campaign
from .correction import CorrectionRequest
from .project import Project
from .types import UTCDateTime

# A string answer longer than this is a free text, never a choice code.
LONG_TEXT = 200


def without_long_texts(answers: dict) -> dict:
    """The answers minus their long free texts: every choice, in a fraction of the size."""
    return {code: value for code, value in answers.items() if not (isinstance(value, str) and len(value) > LONG_TEXT)}


def joined_free_texts(answers: dict, codes) -> str | None:
    """The free texts among ``answers`` (``codes``: the definition's free-text questions, in order), one after
    another with a blank line between them; None when there is none."""
    texts = [answers[code] for code in codes if isinstance(answers.get(code), str)]
    return "\n\n".join(texts) if texts else None


class ResponseState(enum.Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    CORRECTION_REQUESTED = "correction_requested"
    VALIDATED = "validated"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    ResponseState.NOT_STARTED: "non commencé",
    ResponseState.IN_PROGRESS: "en cours",
    ResponseState.SUBMITTED: "transmis",
    ResponseState.CORRECTION_REQUESTED: "correction demandée",
    ResponseState.VALIDATED: "validé",
}


class Response(Base):
    """The bilan of one project for one campaign.

    ``answers`` maps stable question codes to valid values; ``invalid`` keeps
    what was typed but failed a format check (code -> {"value", "errors"}), so
    that nothing typed is ever lost. ``version`` guards against stale edits:
    every write checks it (optimistic locking). State changes go through the
    methods below, which refuse illegal moves.
    """

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("campaign_id", "project_id", name="one_per_project"),
        CheckConstraint(
            "(state IN ('submitted', 'correction_requested') AND submitted_at IS NOT NULL AND receipt IS NOT NULL)"
            " OR (state IN ('not_started', 'in_progress') AND submitted_at IS NULL)"
            " OR state = 'validated'",
            name="submitted_at_iff_submitted",
        ),
        CheckConstraint(
            "(state = 'validated') = (validated_at IS NOT NULL)",
            name="validated_at_iff_validated",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    state: Mapped[ResponseState] = mapped_column(
        Enum(ResponseState, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e]),
        default=ResponseState.NOT_STARTED,
    )
    definition_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    invalid: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt: Mapped[str | None] = mapped_column(String(40), unique=True)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A later deadline granted to this project alone.
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Whether the partner's pages have anything to flag (an answer changed by
    # the Caf, one carried over from last year): when not, they skip reading
    # the history altogether.
    annotated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # ``answers`` without the long free texts (:func:`without_long_texts`), kept in
    # step whenever ``answers`` is set: the dashboard counts choices over
    # thousands of bilans from this, never reading a long bilan.
    short_answers: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}", deferred=True)
    # The free texts of ``answers`` (:func:`joined_free_texts`), set with them by :meth:`record_edit`: what the
    # reading view searches. On PostgreSQL, a generated ``search_vector`` column (migration 0010, not mapped
    # here) holds their French text search vector once the bilan is transmitted, under a GIN index.
    # Both are written with the answers and read only by SQL (dashboard, reading view): loading a response
    # leaves them out (``deferred``), so that a partner's page does not decode its answers twice.
    free_text: Mapped[str | None] = mapped_column(Text, deferred=True)

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")
    correction_requests: Mapped[list[CorrectionRequest]] = relationship(order_by=CorrectionRequest.id)

    __mapper_args__ = {"version_id_col": version}

    @validates("answers")
    def _keep_short_answers(self, _key, answers):
        self.short_answers = without_long_texts(answers or {})
        return answers

    @property
    def is_submitted(self) -> bool:
        return self.state is ResponseState.SUBMITTED

    @property
    def is_validated(self) -> bool:
        return self.state is ResponseState.VALIDATED

    @property
    def open_correction(self) -> CorrectionRequest | None:
        if self.state is not ResponseState.CORRECTION_REQUESTED:
            return None
        return next((r for r in reversed(self.correction_requests) if r.closed_at is None), None)

    def record_edit(self, answers: dict, invalid: dict, now: datetime, free_text_codes: tuple[str, ...]):
        """Store a new set of answers (``free_text_codes``: the definition's free-text questions); refused once
        the response is validated."""
        if self.is_validated:
            raise IllegalTransition("Ce bilan a été validé par la Caf : il ne peut plus être modifié.")
        self.answers = answers
        self.free_text = joined_free_texts(answers, free_text_codes)
        self.invalid = invalid
        self.updated_at = now
        if self.state is ResponseState.NOT_STARTED:
            self.state = ResponseState.IN_PROGRESS
            self.started_at = now

    def mark_submitted(self, now: datetime, receipt: str):
        if self.state not in (ResponseState.NOT_STARTED, ResponseState.IN_PROGRESS, ResponseState.CORRECTION_REQUESTED):
            raise IllegalTransition(f"Ce bilan ne peut pas être transmis : il est {self.state.label}.")
        self._close_open_correction(now)
        self.state = ResponseState.SUBMITTED
        self.submitted_at = now
        # One reference for the bilan: a transmission after a correction keeps it.
        self.receipt = self.receipt or receipt
        self.started_at = self.started_at or now

    @property
    def receipt_round(self) -> str:
        """The round of the latest transmission's receipts: the reference, then ``BQ-…/2`` after a correction."""
        corrections = len(self.correction_requests)
        return self.receipt if not corrections else f"{self.receipt}/{corrections + 1}"

    def request_correction(self, request: CorrectionRequest):
        if self.state is not ResponseState.SUBMITTED:
            raise IllegalTransition(f"Une correction ne peut être demandée que sur un bilan transmis (celui-ci est {self.state.label}).")
        self.correction_requests.append(request)
        self.state = ResponseState.CORRECTION_REQUESTED

    def validate(self, now: datetime, user_id: int):
        if self.state not in (ResponseState.IN_PROGRESS, ResponseState.SUBMITTED, ResponseState.CORRECTION_REQUESTED):
            raise IllegalTransition(f"Ce bilan ne peut pas être validé : il est {self.state.label}.")
        self._close_open_correction(now)
        self.state = ResponseState.VALIDATED
        self.validated_at = now
        self.validated_by_id = user_id

    def _close_open_correction(self, now: datetime):
        request = self.open_correction
        if request is not None:
            request.closed_at = now

    def reopen(self):
        if not self.is_validated:
            raise IllegalTransition("Seul un bilan validé peut être rouvert.")
        self.state = ResponseState.SUBMITTED if self.submitted_at else ResponseState.IN_PROGRESS
        self.validated_at = None
        self.validated_by_id = None

    def __repr__(self):
        return f"<Response {self.id} project={self.project_id} {self.state.value}>"
