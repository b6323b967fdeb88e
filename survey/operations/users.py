"""Caf users: creation, roles, deactivation, passwords, sign-in throttling, second factor."""
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import DomainError
from ..models import Caf, LoginAttempt, Role, User

WINDOW = timedelta(minutes=15)
# Guesses at one account from one address: slowed to 5 per quarter of an hour.
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
# One address trying many accounts.
MAX_FAILURES_PER_ADDRESS = 20
# One account guessed at from many addresses: only its usual addresses may
# still try, so strangers can slow an account but never lock its owner out.
MAX_FAILURES_PER_ACCOUNT = 50
# An address the account signed in from within this time is a usual one.
USUAL_ADDRESS_KEPT = timedelta(days=90)
RECOVERY_CODES = 10
ISSUER = "Bilan CLAS"


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def user_or_error(db: Session, email: str) -> User:
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
        raise DomainError("Adresse électronique invalide.")
    if db.scalar(select(User).where(User.email == email)):
        raise DomainError(f"Un utilisateur a déjà l'adresse {email}.")
    user = User(email=email, name=name, role=role)
    user.caf = _caf_or_error(db, caf_number) if role is Role.REVIEWER else None
    user.set_password(password)
    db.add(user)
    db.commit()
    return user


def set_role(db: Session, email: str, role: Role, caf_number: str | None = None) -> User:
    user = user_or_error(db, email)
    caf = _caf_or_error(db, caf_number) if role is Role.REVIEWER else None  # refused before anything changes
    user.role, user.caf = role, caf
    db.commit()
    return user


def deactivate_user(db: Session, email: str) -> User:
    """The user can no longer sign in, and every session they have open ends now."""
    user = user_or_error(db, email)
    user.active = False
    user.end_sessions()
    db.commit()
    return user


def reset_password(db: Session, email: str, password: str) -> User:
    """A new password (checked by the policy); reactivates the user and ends every session they have open."""
    user = user_or_error(db, email)
    user.set_password(password)
    user.active = True
    db.commit()
    return user


def sign_out_everywhere(db: Session, user: User):
    """Signing out ends every session of the user, including a cookie copied elsewhere."""
    user.end_sessions()
    db.commit()


# -- signing in --------------------------------------------------------------------
@cache
def _decoy_hash() -> str:
    # Checked against when the account does not exist (or is inactive), so that
    # answering takes as long as for a real account: no way to list accounts by timing.
    return generate_password_hash(secrets.token_urlsafe(16))


def sign_in_blocked(db: Session, email: str, address: str, now: datetime) -> bool:
    """Too many recent failures for this account from this address, or from this address,
    or for this account from anywhere while this address is not one of its usual ones."""
    email, since = normalize_email(email), now - WINDOW
    failures = select(func.count()).where(LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
    if db.scalar(failures.where(LoginAttempt.email == email, LoginAttempt.address == address)) \
            >= MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS:
        return True
    if _is_usual_address(db, email, address, now):
        return False
    return (db.scalar(failures.where(LoginAttempt.address == address)) >= MAX_FAILURES_PER_ADDRESS
            or db.scalar(failures.where(LoginAttempt.email == email)) >= MAX_FAILURES_PER_ACCOUNT)


def _is_usual_address(db: Session, email: str, address: str, now: datetime) -> bool:
    return db.scalar(select(LoginAttempt.id).where(
        LoginAttempt.email == email, LoginAttempt.address == address, LoginAttempt.succeeded.is_(True),
        LoginAttempt.at > now - USUAL_ADDRESS_KEPT).limit(1)) is not None


def authenticate(db: Session, email: str, password: str, address: str, now: datetime) -> User | None:
    """The active user with this email and password, else None. Records the attempt (and a success as
    the user's last sign-in, which the purge reads); commits.

    One password hash is checked whether the account exists or not, so the
    answer takes the same time either way.
    """
    email = normalize_email(email)[:254]
    user = db.scalar(select(User).where(User.email == email))
    matches = check_password_hash(user.password_hash if user is not None else _decoy_hash(), password or "")
    succeeded = matches and user is not None and user.is_active
    address = (address or "?")[:64]
    db.add(LoginAttempt(email=email, address=address, at=now, succeeded=succeeded))
    if succeeded:
        user.last_sign_in_at = now
    # Forget what no rule looks at any more (each delete follows one of the table's indexes).
    db.execute(delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.at < now - USUAL_ADDRESS_KEPT))
    db.execute(delete(LoginAttempt).where(LoginAttempt.address == address, LoginAttempt.at < now - USUAL_ADDRESS_KEPT))
    db.commit()
    return user if succeeded else None


def record_failure(db: Session, email: str, address: str, now: datetime):
    """A failed step of signing in (e.g. a wrong second-factor code): counts like a wrong password."""
    db.add(LoginAttempt(email=normalize_email(email)[:254], address=(address or "?")[:64], at=now))
    db.commit()


# -- second factor (TOTP) ------------------------------------------------------------
def new_totp_secret() -> str:
    """160 random bits, base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step whose code this is (this 30-second period or a neighbour), if not used yet."""
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_code(code: str) -> str:
    # Recovery codes carry 80 random bits: a fast hash suffices, as for personal links.
    return hashlib.sha256("".join(code.split()).replace("-", "").lower().encode()).hexdigest()


def enable_second_factor(db: Session, user: User, secret: str, code: str, now: datetime) -> list[str]:
    """Turn TOTP on once ``code`` proves the app holds ``secret``; returns fresh recovery codes (shown once).

    Every other session of the user ends (the caller signs the current one in again).
    """
    step = _matching_step(secret, code, now, None)
    if step is None:
        raise DomainError("Ce code ne correspond pas : vérifiez l’heure de votre téléphone et saisissez le code "
                          "à 6 chiffres affiché maintenant par l’application.")
    codes = ["-".join(part[i:i + 4] for i in range(0, 20, 4)) for part in (secrets.token_hex(10) for _ in range(RECOVERY_CODES))]
    user.totp_secret, user.totp_last_step = secret, step
    user.recovery_codes = [_hash_code(c) for c in codes]
    user.end_sessions()
    db.commit()
    return codes


def disable_second_factor(db: Session, user: User):
    user.totp_secret = user.totp_last_step = user.recovery_codes = None
    user.end_sessions()
    db.commit()


def check_second_factor(db: Session, user: User, code: str, now: datetime) -> bool:
    """True for the current TOTP code (each accepted once) or an unused recovery code (then spent). Commits."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        db.commit()
        return True
    hashed = _hash_code(code or "")
    remaining = list(user.recovery_codes or [])
    if any(hmac.compare_digest(hashed, known) for known in remaining):
        user.recovery_codes = [known for known in remaining if known != hashed]
        db.commit()
        return True
    return False
