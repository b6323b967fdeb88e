import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..errors import IllegalTransition
from .campaign import Campaign
from .project import Project
from .types import UTCDateTime


class ResponseState(enum.Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    ResponseState.NOT_STARTED: "non commencé",
    ResponseState.IN_PROGRESS: "en cours",
    ResponseState.SUBMITTED: "transmis",
}


class Response(Base):
    """The bilan of one project for one campaign.

    ``answers`` maps stable question codes to valid values; ``invalid`` keeps
    what was typed but failed a format check (code -> {"value", "errors"}), so
    that nothing typed is ever lost. ``version`` guards against stale edits:
    every write checks it (optimistic locking).
    """

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("campaign_id", "project_id", name="one_per_project"),
        CheckConstraint(
            "(state = 'submitted' AND submitted_at IS NOT NULL AND receipt IS NOT NULL)"
            " OR (state <> 'submitted' AND submitted_at IS NULL)",
            name="submitted_at_iff_submitted",
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
    version: Mapped[int] = mapped_column(Integer, default=1)

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_submitted(self) -> bool:
        return self.state is ResponseState.SUBMITTED

    def record_edit(self, answers: dict, invalid: dict, now: datetime):
        """Store a new set of answers; refused once the response is transmitted."""
        if self.is_submitted:
            raise IllegalTransition("Ce bilan a déjà été transmis à la Caf : il ne peut plus être modifié.")
        self.answers = answers
        self.invalid = invalid
        self.updated_at = now
        if self.state is ResponseState.NOT_STARTED:
            self.state = ResponseState.IN_PROGRESS
            self.started_at = now

    def mark_submitted(self, now: datetime, receipt: str):
        if self.is_submitted:
            raise IllegalTransition("Ce bilan a déjà été transmis à la Caf.")
        self.state = ResponseState.SUBMITTED
        self.submitted_at = now
        self.receipt = receipt
        self.started_at = self.started_at or now

    def __repr__(self):
        return f"<Response {self.id} project={self.project_id} {self.state.value}>"
