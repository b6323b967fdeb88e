import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Base
from ..errors import DomainError
from ..passwords import password_problem
from .caf import Caf
from .types import UTCDateTime, utcnow


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
    # Part of the session's user id: bumping it (sign-out, new password,
    # deactivation) ends every session of this user, copied cookies included.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Second factor (TOTP, RFC 6238): set exactly when enabled.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is accepted once
    recovery_codes: Mapped[list | None] = mapped_column(JSON)  # SHA-256 of the unused ones
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

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

    def get_id(self) -> str:
        """What the session keeps: the id and the session version (see :meth:`end_sessions`)."""
        return f"{self.id}.{self.session_version}"

    def end_sessions(self):
        """Every session opened so far stops being accepted."""
        self.session_version = (self.session_version or 1) + 1

    def set_password(self, password: str):
        """Refuse a weak password (French message), store its hash, end the other sessions."""
        problem = password_problem(password, (self.email, self.name))
        if problem:
            raise DomainError(problem)
        self.password_hash = generate_password_hash(password)  # scrypt
        self.end_sessions()

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
    """Sign-ins, counted per account and address to slow guessing.

    Failures throttle; successes tell the usual addresses of an account, which
    stay open when strangers hammer it from elsewhere.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"), Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
