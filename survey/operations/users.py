"""Caf users: creation, roles, deactivation, passwords, sign-in throttling."""
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..models import Caf, LoginAttempt, Role, User

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _user_or_error(db: Session, email: str) -> User:
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise DomainError(f"Aucun utilisateur n'a l'adresse {email}.")
    return user


def _caf_or_error(db: Session, caf_number: str | None) -> Caf:
    caf = db.scalar(select(Caf).where(Caf.number == caf_number)) if caf_number else None
    if caf is None:
        raise DomainError("Un instructeur doit être rattaché à une Caf existante (numéro de Caf).")
    return caf


def create_user(db: Session, email: str, password: str, role: Role, caf_number: str | None = None, name="") -> User:
    email = normalize_email(email)
    if "@" not in email:
        raise DomainError("Adresse email invalide.")
    if db.scalar(select(User).where(User.email == email)):
        raise DomainError(f"Un utilisateur a déjà l'adresse {email}.")
    user = User(email=email, name=name, role=role)
    user.caf = _caf_or_error(db, caf_number) if role is Role.REVIEWER else None
    user.set_password(password)
    db.add(user)
    db.commit()
    return user


def set_role(db: Session, email: str, role: Role, caf_number: str | None = None) -> User:
    user = _user_or_error(db, email)
    user.role = role
    user.caf = _caf_or_error(db, caf_number) if role is Role.REVIEWER else None
    db.commit()
    return user


def deactivate_user(db: Session, email: str) -> User:
    user = _user_or_error(db, email)
    user.active = False
    db.commit()
    return user


def reset_password(db: Session, email: str, password: str) -> User:
    user = _user_or_error(db, email)
    user.set_password(password)
    user.active = True
    db.commit()
    return user


def sign_in_blocked(db: Session, email: str, address: str, now: datetime) -> bool:
    """Too many recent failures for this account or from this address."""
    since = now - WINDOW
    per_account = db.scalar(select(func.count()).where(LoginAttempt.email == normalize_email(email), LoginAttempt.at > since))
    per_address = db.scalar(select(func.count()).where(LoginAttempt.address == address, LoginAttempt.at > since))
    return per_account >= MAX_FAILURES_PER_ACCOUNT or per_address >= MAX_FAILURES_PER_ADDRESS


def record_failed_login(db: Session, email: str, address: str, now: datetime):
    db.add(LoginAttempt(email=normalize_email(email)[:254], address=(address or "?")[:64], at=now))
    db.commit()
