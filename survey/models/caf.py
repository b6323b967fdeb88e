from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class Caf(Base):
    """A Caisse d'allocations familiales: funds projects, reviews their bilans."""

    __tablename__ = "cafs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")

    def __repr__(self):
        return f"<Caf {self.number} {self.name!r}>"
