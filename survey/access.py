"""Who may open what. Personal links: one loader that every partner route uses."""
import hashlib
import re
import secrets

from flask import session as browser_session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from . import clock
from .db import get_session
from .deadline import remember_own_window
from .models import AccessLink, CafWindow, Project, Response

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
    link = _load_link(get_session(), link_id) if isinstance(link_id, int) else None
    if link is None or link.is_revoked:
        raise NoPartnerAccess()
    _keep_alive()
    return link


# Every partner request starts from its link and applies the deadline: one query loads the link with its
# contact, response, campaign, project and Caf, and the Caf's own window for the campaign. Built once: building
# it again at each request cost about as much as the statement it replaced.
_LINK_WITH_WINDOW = (
    select(AccessLink, CafWindow.opens_at, CafWindow.closes_at)
    .join(AccessLink.response).join(Response.project)
    .outerjoin(CafWindow, (CafWindow.campaign_id == Response.campaign_id) & (CafWindow.caf_id == Project.caf_id))
    .where(AccessLink.id == bindparam("link_id"))
    .options(contains_eager(AccessLink.response).contains_eager(Response.project))
)


def _load_link(db, link_id: int) -> AccessLink | None:
    """The link (with all a partner's page needs), its Caf's own window kept for the deadline."""
    row = db.execute(_LINK_WITH_WINDOW, {"link_id": link_id}).first()
    if row is None:
        return None
    link, opens_at, closes_at = row
    remember_own_window(db, link.response.campaign_id, link.response.project.caf_id,
                        (opens_at, closes_at) if opens_at is not None else None)
    return link


# -- Caf users' sessions -------------------------------------------------------------
# The session remembers when the user signed in and was last seen; the idle and
# absolute limits (settings) apply to Caf users only. A partner's browser stays
# bound to its link for weeks on purpose: partners answer over several sittings
# across the campaign, have no password to type again, and what the link opens
# is their own project's bilan, which the link itself opens anyway.
SEEN_PRECISION = 60  # seconds: the cookie is rewritten at most once a minute


def start_caf_session(user):
    """Sign ``user`` in on a fresh session (no fixation), with its clocks started."""
    from flask import g
    from flask_login import login_user

    browser_session.clear()
    g.pop("csrf_token", None)  # a page shown by this request gets a token of the new session
    login_user(user)
    browser_session["signed_in_at"] = browser_session["seen_at"] = int(clock.now().timestamp())


def load_caf_user(user_id):
    """The user of this session if it is still theirs: same session version, active, within both time limits."""
    from flask import current_app

    from .models import User

    id_text, _, version_text = str(user_id).partition(".")
    if not (id_text.isdigit() and version_text.isdigit()):
        return None
    user = get_session().get(User, int(id_text))
    if user is None or not user.is_active or user.session_version != int(version_text):
        return None
    now = clock.now().timestamp()
    signed_in_at, seen_at = browser_session.get("signed_in_at"), browser_session.get("seen_at")
    if not (isinstance(signed_in_at, int) and isinstance(seen_at, int)) \
            or now - seen_at > current_app.config["CAF_IDLE_TIMEOUT"].total_seconds() \
            or now - signed_in_at > current_app.config["CAF_SESSION_LIFETIME"].total_seconds():
        return None
    if now - seen_at >= SEEN_PRECISION:
        browser_session["seen_at"] = int(now)
    return user


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
