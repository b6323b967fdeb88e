"""Settings read from the environment, with safe defaults.

Every setting can be overridden by an environment variable of the same name
prefixed with ``SURVEY_`` (``SURVEY_DATABASE_URL``, ``SURVEY_SECRET_KEY``...).
"""
import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEGABYTE = 1024 * 1024
# Used in development only: anywhere else the application refuses to start
# without SURVEY_SECRET_KEY.
DEVELOPMENT_ONLY_KEY = "development-only-not-secret"


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. no secret key in production)."""


def _env(name, default=None):
    return os.environ.get(f"SURVEY_{name}", default)


def _flag(name, default="0"):
    return str(_env(name, default)).strip().lower() in ("1", "true", "yes", "on")


def build_config(overrides=None):
    """Return the application settings: environment first, then ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or _env("ENV", "production")
    instance = Path(_env("INSTANCE_PATH", ROOT / "instance"))
    upload_max = int(_env("UPLOAD_MAX_BYTES", 10 * MEGABYTE))
    config = {
        "ENV": env,
        "SECRET_KEY": _env("SECRET_KEY"),
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{instance / 'survey.sqlite3'}"),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(ROOT / "uploads")),
        "UPLOAD_MAX_BYTES": upload_max,
        # Any request but a page that takes a document (survey/requests.py).
        "MAX_CONTENT_LENGTH": int(_env("MAX_REQUEST_BYTES", 5 * upload_max)),
        # A page that takes a document is read whole up to this bound, its
        # document kept only up to the upload limit: a file too big is refused
        # with the page's texts saved.
        "MAX_DOCUMENT_PAGE_BYTES": int(_env("MAX_DOCUMENT_PAGE_BYTES", 1024 * MEGABYTE)),
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000"),
        # A partner may keep a page open for hours: the CSRF token lives as
        # long as the session, and the session a whole campaign.
        "WTF_CSRF_TIME_LIMIT": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=int(_env("SESSION_DAYS", 45))),
        # Caf users hold every Caf's answers (administrators) or a whole Caf's:
        # their session ends after this long without a request, and this long
        # after signing in whatever happens (access.caf_user_session).
        "CAF_IDLE_TIMEOUT": timedelta(minutes=int(_env("CAF_IDLE_MINUTES", 120))),
        "CAF_SESSION_LIFETIME": timedelta(hours=int(_env("CAF_SESSION_HOURS", 12))),
        # Administrators must sign in with a second factor (TOTP); 0 makes it optional, as for reviewers.
        "ADMIN_SECOND_FACTOR": _flag("ADMIN_SECOND_FACTOR", "1"),
        # The cookie is signed and sent again when the session changes, not on
        # every page; a partner's pages change it once a day of use
        # (access._keep_alive), so it lasts 45 days from the last day of use.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env != "development",
        "SESSION_COOKIE_NAME": "clas_session",
        # Rate limits: in memory by default, shared between processes with
        # SURVEY_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        # How many reverse proxies in front set X-Forwarded-For/-Proto: the
        # client's address (rate limits) is read from them. 0 trusts none.
        "PROXIES": int(_env("PROXIES", 0)),
        "LINK_RATE_LIMIT": _env("LINK_RATE_LIMIT", "30 per minute"),
        "SIGN_IN_RATE_LIMIT": _env("SIGN_IN_RATE_LIMIT", "30 per minute"),
        "SMTP_HOST": _env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(_env("SMTP_PORT", 25)),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS"),
        "SMTP_TIMEOUT": float(_env("SMTP_TIMEOUT", 30)),
        "MAIL_FROM": _env("MAIL_FROM", "bilan-clas@caf.example"),
        # The demo's sink: every email is written to this folder as an .eml file instead of being sent
        # (development only), and administrators read them at /admin/courriels.
        "MAIL_FOLDER": _env("MAIL_FOLDER") or None,
        # Messages per second in batch sends (0: no throttle).
        "MAIL_PER_SECOND": float(_env("MAIL_PER_SECOND", 5)),
        # Each server process's outbox looks for emails to send this often (0: only when a page asks).
        "OUTBOX_POLL_SECONDS": float(_env("OUTBOX_POLL_SECONDS", 5)),
        # A node's sender process (deploy/gunicorn.conf.py) exits after this long without an email to send, and
        # the master forks it again on the next wake or poll: no process held for nothing (0: it never exits).
        "MAIL_SENDER_IDLE_SECONDS": float(_env("MAIL_SENDER_IDLE_SECONDS", 60)),
        # An email left "sending" this long (its sender died mid-exchange) is sent again, with the same
        # Message-ID. Keep it well above SMTP_TIMEOUT: a live sender is never doubled.
        "MAIL_RESEND_AFTER_SECONDS": float(_env("MAIL_RESEND_AFTER_SECONDS", 600)),
        # Legal pages: a file of this folder (mentions-legales.html, donnees-personnelles.html,
        # accessibilite.html) replaces the bundled French text of the same name.
        "LEGAL_DIR": _env("LEGAL_DIR", str(instance / "legal")),
        "LEGAL_OPERATOR": _env("LEGAL_OPERATOR", "Caisse nationale des allocations familiales (Cnaf)"),
        "LEGAL_OPERATOR_ADDRESS": _env("LEGAL_OPERATOR_ADDRESS", "32 avenue de la Sibelle, 75685 Paris Cedex 14"),
        "LEGAL_DIRECTOR": _env("LEGAL_DIRECTOR", "le directeur général de la Cnaf"),
        "LEGAL_HOST": _env("LEGAL_HOST", "l'hébergeur désigné par la Cnaf (à préciser par le déploiement)"),
        "LEGAL_DPO": _env("LEGAL_DPO", "le délégué à la protection des données de votre Caf (coordonnées sur caf.fr)"),
        "ACCESSIBILITY_CONTACT": _env("ACCESSIBILITY_CONTACT", ""),
        # Retention of personal data, in months, applied by the purge command and shown in the notice.
        "RETENTION_CONTACT_MONTHS": int(_env("RETENTION_CONTACT_MONTHS", 12)),
        "RETENTION_ACCOUNT_MONTHS": int(_env("RETENTION_ACCOUNT_MONTHS", 12)),
        "PURGE_DOCUMENTS": _flag("PURGE_DOCUMENTS", "1"),
        # Sign-in records (address typed, IP address, time), in days: the sign-in guard remembers an
        # account's usual addresses for 90 days (operations/users.py), so less weakens it.
        "RETENTION_SIGN_IN_DAYS": int(_env("RETENTION_SIGN_IN_DAYS", 90)),
    }
    config.update(overrides)
    if config["ENV"] == "development" and not config["SECRET_KEY"]:
        config["SECRET_KEY"] = DEVELOPMENT_ONLY_KEY
    if config["MAIL_FOLDER"] and config["ENV"] not in ("development", "testing"):
        raise ConfigError("SURVEY_MAIL_FOLDER keeps every email from leaving: it is for the demo "
                          "(SURVEY_ENV=development) only.")
    if not config["SECRET_KEY"]:
        raise ConfigError(
            "SURVEY_SECRET_KEY must be set outside development "
            "(python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    return config
