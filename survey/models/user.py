import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Base
from ..errors import DomainError
from .caf import Caf
from .types import UTCDateTime, utcnow

PASSWORD_MIN_LENGTH = 12


class Role(enum.Enum):
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def label(self):
        return {"reviewer": "instructeur Caf", "admin": "administrateur national"}[self.value]


class User(UserMixin, Base):
    """A Caf reviewer (bound to one Caf) or a national administrator."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role = 'admin' OR caf_id IS NOT NULL", name="reviewer_has_caf"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    caf_id: Mapped[int | None] = mapped_column(ForeignKey("cafs.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the purge of inactive accounts, which keeps only a pseudonym.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    caf: Mapped[Caf | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def set_password(self, password: str):
        if len(password or "") < PASSWORD_MIN_LENGTH:
            raise DomainError(f"Le mot de passe doit compter au moins {PASSWORD_MIN_LENGTH} caractères.")
        self.password_hash = generate_password_hash(password)  # scrypt

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can_review_caf(self, caf_id: int) -> bool:
        return self.active and (self.is_admin or self.caf_id == caf_id)

    @property
    def display_name(self):
        return self.name or self.email

    def __repr__(self):
        return f"<User {self.email} {self.role.value}>"


class LoginAttempt(Base):
    """Failed sign-ins, counted per account and per address to slow guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"), Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
