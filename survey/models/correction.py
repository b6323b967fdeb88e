from datetime import datetime

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .types import UTCDateTime, utcnow
from .user import User


class CorrectionRequest(Base):
    """A Caf asks the partner to correct some answers, until a given instant.

    ``items`` is a list of ``{"code": question code, "message": text}``.
    """

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[list] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User] = relationship(lazy="joined")

    def message_for(self, code: str) -> str | None:
        return next((item["message"] for item in self.items if item["code"] == code), None)

    def __repr__(self):
        return f"<CorrectionRequest {self.id} on {self.response_id}>"
