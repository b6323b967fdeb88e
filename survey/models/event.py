import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .project import Contact
from .types import UTCDateTime, utcnow
from .user import User


class EventKind(enum.Enum):
    ANSWER = "answer"
    SUBMITTED = "submitted"
    CORRECTION_REQUESTED = "correction_requested"
    VALIDATED = "validated"
    REOPENED = "reopened"
    EXTENDED = "extended"
    CARRIED_OVER = "carried_over"
    LINK_SENT = "link_sent"
    LINKS_WITHDRAWN = "links_withdrawn"

    @property
    def label(self):
        return _LABELS[self]


_LABELS = {
    EventKind.ANSWER: "réponse modifiée",
    EventKind.SUBMITTED: "bilan transmis",
    EventKind.CORRECTION_REQUESTED: "correction demandée",
    EventKind.VALIDATED: "bilan validé",
    EventKind.REOPENED: "bilan rouvert",
    EventKind.EXTENDED: "délai prolongé",
    EventKind.CARRIED_OVER: "réponse reprise de l'année précédente",
    EventKind.LINK_SENT: "nouveau lien envoyé au partenaire",
    EventKind.LINKS_WITHDRAWN: "liens d’un contact retirés",
}


class ResponseEvent(Base):
    """One line of a response's history: append-only, never updated nor deleted.

    An answer change keeps the question code, the old and the new value, so the
    partner's original answer survives any correction.
    """

    __tablename__ = "response_events"
    __table_args__ = (
        # The dashboard's timeline: each response's first transmission, without
        # reading the other events (about 20 per response).
        Index("ix_response_events_submitted", "response_id", "at",
              postgresql_where=text("kind = 'submitted'"), sqlite_where=text("kind = 'submitted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[EventKind] = mapped_column(Enum(EventKind, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e]))
    code: Mapped[str | None] = mapped_column(String(80))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))

    user: Mapped[User | None] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="joined")

    @property
    def by_caf(self) -> bool:
        return self.user_id is not None

    @property
    def actor(self) -> str:
        if self.user is not None:
            return f"{self.user.display_name} ({self.user.caf.name if self.user.caf else 'administration'})"
        if self.contact is not None:
            if self.contact.purged_at is not None:  # its address was removed by the purge
                return f"partenaire n° {self.contact_id} (adresse supprimée)"
            return f"{self.contact.email} (partenaire)"
        return "système"

    def __repr__(self):
        return f"<ResponseEvent {self.kind.value} {self.code or ''} on {self.response_id}>"


@event.listens_for(ResponseEvent, "before_update")
@event.listens_for(ResponseEvent, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("the response history is append-only")
