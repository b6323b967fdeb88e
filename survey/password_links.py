"""Links that let a Caf user choose a new password: signed, valid one day, used once.

The token is signed with the secret key and carries a fingerprint of the
user's password hash: once the password changes, every earlier link stops
working, without a table to keep them in.
"""
import hashlib

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from .mail import messages
from .models import User

SALT = "password-link"
MAX_AGE = 24 * 3600


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.password_hash}|{user.active}".encode()).hexdigest()[:20]


def make_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "print": _fingerprint(user)})


def user_for_token(db: Session, token: str) -> User | None:
    """The user this link was made for, if it is genuine, less than a day old and not used yet."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    user = db.get(User, data.get("user")) if isinstance(data, dict) and isinstance(data.get("user"), int) else None
    if user is None or user.purged_at is not None or data.get("print") != _fingerprint(user):
        return None
    return user


def send_password_link(user: User, welcome: bool = False):
    """Email ``user`` a link to choose a password; raises on an SMTP failure (nothing is stored)."""
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.choose_password", token=make_token(user))
    subject = "Bilan Clas – votre accès Caf" if welcome else "Bilan Clas – choisir un nouveau mot de passe"
    context = {"user": user, "link": link, "welcome": welcome, "subject": subject}
    text = render_template("email/password_link.txt", **context)
    html = render_template("email/password_link.html", **context)
    with messages.Postman(current_app.config) as postman:
        try:
            postman.send(messages.build_message(user.email, subject, text, html))
        except messages.SmtpUnavailable:
            raise
        except Exception as exc:
            raise messages.SmtpUnavailable(messages.describe_error(exc)) from exc
