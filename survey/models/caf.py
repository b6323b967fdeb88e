from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .types import UTCDateTime

# The zones a Caf may be set to, with the departments whose Cafs take them by default.
TIMEZONES = {
    "Europe/Paris": "métropole (heure de Paris)",
    "America/Guadeloupe": "Guadeloupe",
    "America/Martinique": "Martinique",
    "America/Cayenne": "Guyane",
    "Indian/Reunion": "La Réunion",
    "Indian/Mayotte": "Mayotte",
    "America/Miquelon": "Saint-Pierre-et-Miquelon",
}
DEPARTMENT_TIMEZONES = {
    "971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
    "974": "Indian/Reunion", "975": "America/Miquelon", "976": "Indian/Mayotte",
}


def timezone_for_number(number: str) -> str:
    """The zone of a Caf's department (971 Guadeloupe ... 976 Mayotte), Paris otherwise."""
    return DEPARTMENT_TIMEZONES.get((number or "")[:3], "Europe/Paris")


class Caf(Base):
    """A Caisse d'allocations familiales: funds projects, reviews their bilans.

    Its contact is what a partner is shown when they need help: every part is optional.
    """

    __tablename__ = "cafs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_address: Mapped[str | None] = mapped_column(Text)
    contact_hours: Mapped[str | None] = mapped_column(String(200))
    contact_note: Mapped[str | None] = mapped_column(Text)

    @property
    def has_contact(self) -> bool:
        return any((self.contact_email, self.contact_phone, self.contact_address, self.contact_hours,
                    self.contact_note))

    def __repr__(self):
        return f"<Caf {self.number} {self.name!r}>"


class CafWindow(Base):
    """A Caf's own opening and closing for one campaign: they replace the campaign's for its projects."""

    __tablename__ = "caf_windows"
    __table_args__ = (
        UniqueConstraint("caf_id", "campaign_id", name="one_window_per_caf_and_campaign"),
        CheckConstraint("opens_at < closes_at", name="window_opens_before_closing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    caf_id: Mapped[int] = mapped_column(ForeignKey("cafs.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last instant at which this Caf's partners may answer.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self):
        return f"<CafWindow caf={self.caf_id} campaign={self.campaign_id}>"
