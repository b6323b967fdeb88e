"""Who may open what. Personal links: one loader that every partner route uses."""
import hashlib
import re
import secrets

from flask import session as browser_session

from . import clock
from .db import get_session
from .models import AccessLink

TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{20,128}")


class NoPartnerAccess(Exception):
    """No valid personal link behind this request (unknown, revoked, expired session)."""


def new_token() -> str:
    """A personal-link token: 192 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    # The token carries 192 random bits: a fast hash is enough to make a
    # stolen database useless, no need for a slow password hash.
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token) -> bool:
    return isinstance(token, str) and TOKEN_FORMAT.fullmatch(token) is not None


def bind_browser(link_id: int):
    browser_session.clear()
    browser_session.permanent = True
    browser_session["link_id"] = link_id
    browser_session["day"] = _today()


def _today() -> str:
    return clock.now().date().isoformat()


def _keep_alive():
    """Send the session cookie again once a day of use, so it lasts from the last day, not the first."""
    today = _today()
    if browser_session.get("day") != today:
        browser_session["day"] = today


def current_link() -> AccessLink:
    """The link this browser opened; raises :class:`NoPartnerAccess` otherwise."""
    link_id = browser_session.get("link_id")
    link = get_session().get(AccessLink, link_id) if isinstance(link_id, int) else None
    if link is None or link.is_revoked:
        raise NoPartnerAccess()
    _keep_alive()
    return link


def reviewable_response_or_404(response_id: int):
    """The response if the signed-in user's Caf funds it (or they administer); else 404.

    A response of another Caf answers exactly as one that does not exist.
    """
    from flask import abort
    from flask_login import current_user

    from .models import Response

    response = get_session().get(Response, response_id)
    if response is None or not current_user.can_review_caf(response.project.caf_id):
        abort(404)
    return response


def caf_scope(query, user):
    """Restrict a query over projects to what ``user`` may see."""
    from .models import Project

    return query if user.is_admin else query.where(Project.caf_id == user.caf_id)
