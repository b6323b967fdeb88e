from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .caf import Caf
from .types import UTCDateTime, utcnow


class Project(Base):
    """A CLAS action funded by one Caf, identified by its reference."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    caf_id: Mapped[int] = mapped_column(ForeignKey("cafs.id"), index=True)
    structure_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14))
    commune: Mapped[str | None] = mapped_column(String(200))

    caf: Mapped[Caf] = relationship(lazy="joined")
    contacts: Mapped[list["Contact"]] = relationship(back_populates="project", order_by="Contact.id")

    @property
    def current_contacts(self) -> list["Contact"]:
        """The contacts who hold links and receive emails (the withdrawn ones are kept for the history)."""
        return [contact for contact in self.contacts if not contact.is_withdrawn]

    def __repr__(self):
        return f"<Project {self.reference}>"


class Contact(Base):
    """A person of the partner structure who receives a personal link."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("project_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    # Set when the contact is no longer the project's (left out of an import,
    # or withdrawn by a reviewer): its links are revoked and no email goes to it.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the purge, which replaces the address by a pseudonym.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="contacts")

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def __repr__(self):
        return f"<Contact {self.email} of project {self.project_id}>"


class AccessLink(Base):
    """A contact's personal link to one response. Only the token's hash is kept."""

    __tablename__ = "access_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship(lazy="joined")
    # Every partner request starts from the link: load its response (with campaign,
    # project and Caf, all joined) in the same query.
    response: Mapped["Response"] = relationship(lazy="joined")  # noqa: F821

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self):
        return f"<AccessLink {self.id} contact={self.contact_id} response={self.response_id}>"
