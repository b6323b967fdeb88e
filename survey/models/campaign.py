from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .types import UTCDateTime


class Campaign(Base):
    """One yearly collection of bilans, answered on one frozen definition.

    The definition's JSON is copied into the campaign when it is created, so
    editing the file later never changes a running campaign.
    """

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("opens_at < closes_at", name="opens_before_closing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    definition_code: Mapped[str] = mapped_column(String(60))
    definition_version: Mapped[int] = mapped_column(Integer)
    # Deferred: responses join their campaign, and this document is large.
    definition_content: Mapped[dict] = mapped_column(JSON, deferred=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last instant at which an answer is accepted.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the purge removed its contacts' personal data (see operations/purge.py).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self):
        return f"<Campaign {self.code}>"
