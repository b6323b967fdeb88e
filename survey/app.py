"""The application factory: settings, database, CSRF, blueprints, error pages, commands."""
from flask import Flask, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import db
from .config import build_config
from .deadline import partner_window
from .engine.questions.file import human_size
from .engine.timefmt import count_of, format_date, format_datetime, format_decimal, format_input, format_number, unbroken_times
from .logmask import MaskTokens
from .mail.outbox import Outbox
from .markup import paragraphs
from .questionnaires import check_bundled_definitions
from .ratelimit import GuessingGuard
from .requests import SurveyRequest
from .uploads import UploadStore

# No inline script or style anywhere: pages work without JavaScript and the
# personal link never leaves in a Referer header.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# PostgreSQL's integer: a larger id in a path cannot name anything (404), and
# must not reach the database, which would refuse it with an error.
LARGEST_ID = 2**31 - 1


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every route: an id the database can hold, or no such page."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Connectez-vous pour accéder à cette page."


@login_manager.user_loader
def load_user(user_id):
    from .access import load_caf_user
    return load_caf_user(user_id)


def create_app(overrides=None) -> Flask:
    """Build the application. Refuses to start on a broken bundled definition."""
    app = Flask(__name__, instance_relative_config=False)
    app.request_class = SurveyRequest
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.config.update(build_config(overrides))
    app.logger.addFilter(MaskTokens())  # a traceback names the request's path, perhaps /r/<token>
    check_bundled_definitions()
    if app.config["PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXIES"], x_proto=app.config["PROXIES"])
    db.init_app(app)
    app.extensions["outbox"] = Outbox(app)
    # Saving a page stores documents here, whoever saves it (a view, a command, a test).
    app.extensions["uploads"] = UploadStore(app.config["UPLOAD_DIR"], app.config["UPLOAD_MAX_BYTES"])
    app.before_request(app.extensions["outbox"].start_polling)  # each server process sends what is pending
    csrf.init_app(app)
    login_manager.init_app(app)
    app.jinja_env.filters["datetime_fr"] = format_datetime
    app.jinja_env.filters["date_fr"] = format_date
    app.jinja_env.filters["unbroken_times"] = unbroken_times
    app.jinja_env.filters["local_input"] = format_input
    app.jinja_env.filters["human_size"] = human_size
    app.jinja_env.filters["number_fr"] = format_number
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.filters["count_fr"] = count_of
    app.jinja_env.filters["decimal_fr"] = format_decimal
    app.jinja_env.globals["partner_window"] = partner_window
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    from .blueprints import admin, auth, emails, legal, partner, preview, questionnaire, reading, reports, review
    legal.use_deployment_texts(app)
    app.register_blueprint(legal.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(preview.bp)
    app.register_blueprint(questionnaire.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(emails.bp)
    app.register_blueprint(partner.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(reading.bp)
    _limit_guessable_routes(app)
    _require_admin_second_factor(app)
    _register_error_pages(app)
    _refuse_nul_bytes(app)

    from .cli import register_commands
    register_commands(app)
    return app


def _limit_guessable_routes(app):
    """Slow down guessing of personal links and passwords, per client address."""
    guard = GuessingGuard(app.config["RATELIMIT_STORAGE_URI"])
    for endpoint, setting, methods in (("partner.open_personal_link", "LINK_RATE_LIMIT", None),
                                       ("auth.sign_in", "SIGN_IN_RATE_LIMIT", ["POST"])):
        app.view_functions[endpoint] = guard.limit(app.view_functions[endpoint], app.config[setting], methods)


# What partners and the public reach (and signing in itself): the rest is for Caf users.
PUBLIC_BLUEPRINTS = (None, "partner", "auth", "legal", "questionnaire")


def _require_admin_second_factor(app):
    """With ADMIN_SECOND_FACTOR, an administrator without one reaches no Caf page before enabling it.

    Every blueprint but the public ones is a Caf page: a new one is covered without being listed.
    """
    from flask import redirect, url_for
    from flask_login import current_user

    @app.before_request
    def second_factor_first():
        if not app.config["ADMIN_SECOND_FACTOR"] or request.blueprint in PUBLIC_BLUEPRINTS:
            return None
        if current_user.is_authenticated and current_user.is_admin and not current_user.has_second_factor:
            return redirect(url_for("auth.set_up_second_factor"))
        return None


def _refuse_nul_bytes(app):
    """No page has a use for a NUL byte in its address or its query (filters, next=): 400, before any
    view passes it to the database (PostgreSQL refuses them in text)."""
    from flask import abort

    @app.before_request
    def no_nul_byte():
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                           for key, values in request.args.lists() for value in values):
            abort(400)


def _register_error_pages(app):
    def page(template, status, **context):
        # Error pages never touch the database (it may be the cause).
        return render_template(template, error_page=True, **context), status

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        from .blueprints.partner import csrf_failed_page
        return csrf_failed_page()

    @app.errorhandler(400)
    def bad_request(error):
        return page("errors/400.html", 400)

    @app.errorhandler(404)
    def not_found(error):
        return page("errors/404.html", 404)

    @app.errorhandler(405)
    def not_allowed(error):
        return page("errors/404.html", 405)

    @app.errorhandler(413)
    def too_large(error):
        return page("errors/413.html", 413, max_mb=app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024))

    @app.errorhandler(429)
    def too_many(error):
        return page("errors/429.html", 429)

    @app.errorhandler(500)
    def server_error(error):
        return page("errors/500.html", 500)

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        # The database went away (restart, failover): say so, and let the pool
        # reconnect on a later request (pool_pre_ping) without a restart here.
        app.logger.warning("database unavailable: %s", error)
        return page("errors/503.html", 503)

    @app.after_request
    def no_store_for_personal_pages(response):
        if request.endpoint and request.endpoint.split(".")[0] in ("partner", "review", "reports", "auth", "admin"):
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
