from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .types import UTCDateTime, utcnow
from .user import User


class ReviewNote(Base):
    """A private note of the Caf on a response: dated, signed, for reviewers and administrators only.

    Never shown to the partner: no partner page, email or export reads this table.
    """

    __tablename__ = "review_notes"
    __table_args__ = (CheckConstraint("length(text) > 0", name="note_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship(lazy="joined")

    def __repr__(self):
        return f"<ReviewNote {self.id} on {self.response_id}>"
