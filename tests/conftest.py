"""Fixtures: an application on a migrated database, factories, a partner browser.

The suite runs on SQLite by default and on PostgreSQL when
``SURVEY_TEST_DATABASE_URL`` names one (CI does both).
"""
import json
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from survey import create_app
from survey.db import Base, build_engine, get_session
from survey.mail.messages import forget_receipt_pdfs
from survey.migrate import upgrade
from survey.models import Contact, Project
from survey.operations import create_campaign, enrol_project, get_or_create_caf, issue_link
from survey.questionnaires import DEFINITIONS_DIR, forget_campaign_definitions
from survey.reports.comparison import forget_counted
from survey.reports.dashboard import forget_counts
from tests.smtp import free_port

# The email tests' SMTP server and campaign fixtures.
pytest_plugins = ["tests.mail_support"]

UTC = UTC
TESTS = Path(__file__).parent
CLAS = json.loads((DEFINITIONS_DIR / "clas-2023-2024.json").read_text(encoding="utf-8"))
ATELIER = json.loads((TESTS / "definitions" / "atelier-2025.json").read_text(encoding="utf-8"))
# Clas 2023-2024 closes on Monday 15 July 2024 at 23:59:59, Paris time (UTC+2).
CLAS_OPENS = datetime(2024, 6, 14, 6, 0, tzinfo=UTC)
CLAS_CLOSES = datetime(2024, 7, 15, 21, 59, 59, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_definitions():
    """Every test compiles its own definitions and counts its own figures: ids start again in each database."""
    forget_campaign_definitions()
    forget_counted()
    forget_counts()
    forget_receipt_pdfs()
    yield
    forget_campaign_definitions()
    forget_counted()
    forget_counts()
    forget_receipt_pdfs()


@pytest.fixture(autouse=True)
def no_outbox_left_running():
    """No test leaves a sending thread behind: on a shared database (PostgreSQL in CI), a thread of an earlier
    test's application, polling every few seconds, would claim the next test's emails and fail to send them.
    Applications other than ``app`` come from ``other_app``, which stops theirs."""
    before = {thread for thread in threading.enumerate() if thread.name == "outbox"}
    yield
    left = [thread for thread in threading.enumerate() if thread.name == "outbox" and thread not in before]
    assert not left, "an application's outbox thread outlived its test: create it with the other_app fixture"


class FrozenClock:
    """The application's notion of now, set by the tests."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def set(self, now):
        self.now = now


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("SURVEY_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url):
    """A database built by the migrations, as in production (not create_all)."""
    engine = build_engine(database_url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(database_url)
    yield engine
    engine.dispose()


def _empty_tables(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def clock():
    return FrozenClock(datetime(2024, 7, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def app(database_url, migrated_engine, clock, tmp_path):
    _empty_tables(migrated_engine)
    application = create_app({
        "ENV": "testing",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "UPLOAD_MAX_BYTES": 200_000,
        "MAX_CONTENT_LENGTH": 1_000_000,
        "FROZEN_NOW": clock,
        "SESSION_COOKIE_SECURE": False,
        # Rate limits have their own test; here they would only trip over the suite's pace.
        "LINK_RATE_LIMIT": "100000 per minute",
        # No SMTP server listens there unless a test starts one: sends fail fast and are recorded.
        "SMTP_PORT": free_port(),
        "SIGN_IN_RATE_LIMIT": "100000 per minute",
        # Administrators' second factor has its own tests (test_second_factor.py).
        "ADMIN_SECOND_FACTOR": False,
        # The outbox sends when a page wakes it; the tests of its polling set their own interval.
        "OUTBOX_POLL_SECONDS": 0,
        # So do Caf users' session limits (test_sessions.py); elsewhere the clock jumps by days.
        "CAF_IDLE_TIMEOUT": timedelta(days=365),
        "CAF_SESSION_LIFETIME": timedelta(days=365),
    })
    yield application
    application.extensions["outbox"].drain(10)  # no receipt of this test may land in the next one's tables
    application.extensions["outbox"].stop(10)  # nor any thread outlive its application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def other_app(app):
    """``other_app(**settings)``: another application on the test's database (a production configuration,
    a rate limit...); its outbox is stopped and its connections closed at the end of the test."""
    made = []

    def make(**settings):
        made.append(create_app({"ENV": "testing", "SECRET_KEY": "s", "DATABASE_URL": app.config["DATABASE_URL"],
                                **settings}))
        return made[-1]
    yield make
    for application in made:
        application.extensions["outbox"].stop(10)
        application.extensions["db_engine"].dispose()


@pytest.fixture
def db(app):
    """A session of the test's own, outside any request (no app context kept pushed,
    which requests would otherwise share)."""
    session = app.extensions["db_sessionmaker"]()
    yield session
    session.close()


class Factory:
    """Builds campaigns and projects the way the import will."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def campaign(self, content=None, opens=CLAS_OPENS, closes=CLAS_CLOSES, code=None):
        with self.app.app_context():
            db = get_session()
            self.count += 1
            campaign = create_campaign(db, code or f"campagne-{self.count}", content or CLAS, opens, closes)
            db.commit()
            return campaign.id

    def project(self, campaign_id, contacts=("contact@structure.example",), caf_number="731",
                caf_name="Caf de la Savoie", timezone="Europe/Paris", siret="77567227200017", reference=None):
        """Enrol a new project; returns (response_id, [personal link tokens])."""
        from survey.models import Campaign
        with self.app.app_context():
            db = get_session()
            self.count += 1
            caf = get_or_create_caf(db, caf_number, caf_name, timezone)
            project = Project(reference=reference or f"P-{self.count:04d}", caf=caf, structure_name=f"Structure {self.count}",
                              siret=siret, commune="Chambéry")
            db.add(project)
            db.flush()
            response = enrol_project(db, db.get(Campaign, campaign_id), project)
            tokens = []
            for email in contacts:
                contact = Contact(project=project, email=email)
                db.add(contact)
                db.flush()
                tokens.append(issue_link(db, contact, response))
            db.commit()
            return response.id, tokens


@pytest.fixture
def factory(app):
    return Factory(app)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


class Partner:
    """A partner's browser: follows the personal link, reads tokens from pages."""

    def __init__(self, client):
        self.client = client
        self.html = ""

    def open(self, token):
        return self.client.get(f"/r/{token}")

    def get(self, url):
        response = self.client.get(url)
        self.html = response.get_data(as_text=True)
        return response

    def hidden(self):
        csrf = CSRF.search(self.html)
        version = VERSION.search(self.html)
        return {"csrf_token": csrf.group(1) if csrf else "", "version": version.group(1) if version else ""}

    def save_page(self, number, data=None, action="save", reload=True):
        """Post a page as the browser would, with the tokens of a fresh GET."""
        if reload:
            self.get(f"/bilan/page/{number}")
        form = {**self.hidden(), "action": action, **(data or {})}
        response = self.client.post(f"/bilan/page/{number}", data=form, content_type="multipart/form-data")
        self.html = response.get_data(as_text=True)
        return response

    def transmit(self):
        self.get("/bilan/recapitulatif")
        response = self.client.post("/bilan/transmettre", data={**self.hidden(), "certifie": "oui"})
        self.html = response.get_data(as_text=True)
        self.client.application.extensions["outbox"].drain(10)  # the receipt leaves in the background
        return response


@pytest.fixture
def partner_for(app):
    def make(token):
        partner = Partner(app.test_client())
        assert partner.open(token).status_code == 302
        return partner
    return make


def matrix(code, rows, column):
    return {f"{code}__{row}": column for row in rows}


def complete_clas_answers() -> dict[int, dict]:
    """Form data answering every question of Clas 2023-2024, page by page."""
    pages = {number: {} for number in range(1, 9)}
    pages[1] = {"nom_structure": "Association Les Petits Savants", "statut_structure": "autre",
                "statut_structure_autre": "Fondation", "caf_nom": "Caf de la Savoie", "caf_numero": "731",
                "email": "direction@petits-savants.example", "siret": "77567227200017", "siren": "775672272"}
    pages[2] = {"lieu_action": "Maison de quartier", "commune": "Chambéry", "code_postal": "73000",
                "code_insee": "73065", "numero_voie": "12", "voie": "rue de la Gare"}
    pages[3] = {"qpv": "oui", "tranches_age": ["primaire", "college"]}
    for number, question in ((4, "situations_enfants"), (5, "types_activites"), (7, "origine_inscription")):
        spec = next(q for p in CLAS["pages"] for q in p["questions"] if q["code"] == question)
        pages[number] = matrix(question, [r["code"] for r in spec["rows"]], spec["columns"][0]["code"])
    parents = next(q for p in CLAS["pages"] for q in p["questions"] if q["code"] == "actions_parents")
    pages[6] = {"contractualisation": "non", **matrix("actions_parents", [r["code"] for r in parents["rows"]], "oui")}
    pages[8] = {"formation_coordinateur": "oui", "formation_animateurs": "non",
                "bilan_qualitatif": "Une année riche : " + "les enfants ont progressé en lecture. " * 5}
    return pages


PASSWORD = "correct horse battery staple"


class CafUser:
    """A signed-in reviewer or administrator, with the CSRF token of the last page."""

    def __init__(self, client, email):
        self.client = client
        self.email = email
        self.html = ""

    def get(self, url):
        response = self.client.get(url)
        if response.mimetype == "text/html":
            self.html = response.get_data(as_text=True)
        return response

    def csrf(self):
        match = CSRF.search(self.html)
        return match.group(1) if match else ""

    def version(self):
        match = VERSION.search(self.html)
        return match.group(1) if match else ""

    def post(self, url, data=None, from_page=None, **kwargs):
        """Post as the browser would from ``from_page`` (default: the response page)."""
        if from_page:
            self.get(from_page)
        form = {"csrf_token": self.csrf(), "version": self.version(), **(data or {})}
        response = self.client.post(url, data=form, **kwargs)
        self.html = response.get_data(as_text=True)
        if url.endswith("/correction"):  # its notice leaves from the process's sender, after the page
            self.client.application.extensions["outbox"].drain(10)
        return response


@pytest.fixture
def caf_user(app):
    """Create a user and sign in: caf_user("reviewer", "731") or caf_user("admin")."""
    from survey.models import Role
    from survey.operations import create_user

    def make(role="reviewer", caf_number="731", email=None, sign_in=True):
        with app.app_context():
            db = get_session()
            if caf_number:
                get_or_create_caf(db, caf_number, f"Caf {caf_number}")
            email = email or f"{role}-{caf_number or 'national'}@caf.example"
            create_user(db, email, PASSWORD, Role(role), caf_number if role == "reviewer" else None)
        user = CafUser(app.test_client(), email)
        if sign_in:
            user.get("/connexion")
            signed = user.client.post("/connexion", data={"csrf_token": user.csrf(), "email": email, "password": PASSWORD})
            assert signed.status_code == 302, signed.get_data(as_text=True)
        return user
    return make
