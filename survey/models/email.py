import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .project import Contact
from .response import Response
from .types import UTCDateTime, utcnow


class EmailKind(enum.Enum):
    INVITATION = "invitation"
    REMINDER = "reminder"
    RECEIPT = "receipt"
    CORRECTION = "correction"
    VALIDATED = "validated"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    EmailKind.INVITATION: "invitation",
    EmailKind.REMINDER: "relance",
    EmailKind.RECEIPT: "accusé de réception",
    EmailKind.CORRECTION: "demande de correction",
    EmailKind.VALIDATED: "bilan validé",
    EmailKind.REOPENED: "bilan rouvert",
}


class EmailStatus(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Planned, then no longer due when its turn came (e.g. a reminder to a
    # project transmitted in the meantime).
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        """In French, for the Caf's pages: ``en attente``, ``envoyé``..."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    EmailStatus.PENDING: "en attente",
    EmailStatus.SENDING: "en cours d’envoi",
    EmailStatus.SENT: "envoyé",
    EmailStatus.FAILED: "échec",
    EmailStatus.SKIPPED: "annulé (plus lieu d’être)",
}


def _values(enum_class):
    return Enum(enum_class, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class EmailLog(Base):
    """One email to one contact about one response: planned, then sent (at least once, under one Message-ID).

    A row is written (``pending``) before anything is sent, and the unique
    constraint makes planning the same round twice a no-op. Sending marks the
    row ``sending`` (with its Message-ID, counting the attempt) and commits
    before talking to the SMTP server, so a crash leaves it ``sending``; once
    ``MAIL_RESEND_AFTER_SECONDS`` have passed, any sender claims it again and
    sends it with the same Message-ID, which mail clients deduplicate.
    ``round`` names the occasion: ``invitation``, ``J-14`` or ``J-14/731`` for
    reminders, the receipt reference, ``correction-<request id>``,
    ``validation-<n>`` / ``reouverture-<n>`` (the n-th such event of the response).
    """

    __tablename__ = "email_log"
    __table_args__ = (
        UniqueConstraint("kind", "round", "contact_id", "response_id", name="once_per_round"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_at_iff_sent"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The senders look for the next row to send by status and kind, in order of planning.
        Index("ix_email_log_status_kind_id", "status", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EmailKind] = mapped_column(_values(EmailKind))
    round: Mapped[str] = mapped_column(String(60))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    status: Mapped[EmailStatus] = mapped_column(_values(EmailStatus), default=EmailStatus.PENDING)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the last attempt began (the row was marked ``sending``).
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200))
    # How many times a sender claimed the row (more than one: failed and resent, or resent after a crash).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    contact: Mapped[Contact] = relationship(lazy="joined")
    response: Mapped[Response] = relationship(lazy="joined")

    def __repr__(self):
        return f"<EmailLog {self.id} {self.kind.value} {self.round} contact={self.contact_id} {self.status.value}>"
