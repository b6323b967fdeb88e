"""SQLAlchemy 2 wiring: one engine per application, one session per request."""
from flask import current_app, g, has_request_context, request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def build_engine(url):
    """Create the engine; SQLite gets foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_app(app):
    engine = build_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.extensions["db_read_sessionmaker"] = sessionmaker(
        bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request (or CLI command)."""
    if "db_session" not in g:
        reading = has_request_context() and request.method in ("GET", "HEAD") and \
            getattr(current_app.view_functions.get(request.endpoint), "reads_statement_by_statement", False)
        g.db_session = current_app.extensions["db_read_sessionmaker" if reading else "db_sessionmaker"]()
    return g.db_session


def statement_by_statement(view):
    """Mark a view whose GET only reads with a few short queries (at most one single-statement write).

    Its queries run in autocommit: no BEGIN and ROLLBACK round trips around
    them (PostgreSQL's READ COMMITTED gives every statement its own snapshot
    either way). Not for views that stream with server-side cursors
    (``yield_per``), which need a transaction. The partner's pages, the busiest
    at the deadline, are marked.
    """
    view.reads_statement_by_statement = True
    return view


def _close_session(_exc):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
