"""Real-browser fixtures: gunicorn on a free port, a headless Chromium, signed-in actors.

The application runs as in production (``gunicorn wsgi:app``, ``SURVEY_ENV``
production, a fresh SQLite file and uploads folder in a temporary directory);
its data is prepared with the ``flask`` commands, and the personal links of
imported projects arrive by email on a real SMTP server on localhost.

Chromium is the system's (``/usr/bin/chromium``): nothing is ever downloaded.
Without it (or without the ``playwright`` package) the browser tests are
skipped, unless ``SURVEY_REQUIRE_BROWSER=1`` (CI), where they fail.
"""
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.smtp import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SURVEY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PARIS = ZoneInfo("Europe/Paris")
DEFINITION = ROOT / "survey" / "definitions" / "clas-2023-2024.json"
# A campaign of its own, closing a few seconds after the set-up: invitations
# leave while it is open, and the partner comes back once it has closed.
CLOSING_CAMPAIGN = "clas-2023-2024-cloture"
CLOSING_TITLE = "Clas 2023-2024 : bilan qualitatif (session close)"
CLOSING_DELAY = timedelta(seconds=20)

# Projects imported into the demo campaign, next to the demo's own three:
# (reference, structure, SIRET, Caf, commune, contact).
IMPORTED = [
    ("CLAS-73-003", "Maison de quartier des Hauts", "38012986600014", "731", "Chambéry", "coordination@hauts.example"),
    ("CLAS-73-004", "Amicale laïque de Bissy", "44306184100047", "731", "Chambéry", "clas@amicale-bissy.example"),
    ("CLAS-73-005", "Centre social des Combes", "41301879700014", "731", "Chambéry", "bilan@combes.example"),
]


def _missing_browser() -> str | None:
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright / axe-playwright-python packages are missing ({exc}); pip install -e '.[test]'"
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def _skip_or_fail(reason: str):
    if os.environ.get("SURVEY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SURVEY_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


# -- the application, as in production -------------------------------------------
@dataclass
class Account:
    email: str
    password: str


@dataclass
class Site:
    """The running application and what its set-up printed or mailed."""

    base_url: str
    reviewer: Account
    admin: Account
    links: dict[tuple[str, str], str]  # (project reference, contact email) -> personal link
    closing_link: str
    closes_at: datetime
    mailbox: SmtpServer
    env: dict  # the application's settings, for further `flask` commands (flask(site, ...))

    def url(self, path: str) -> str:
        return self.base_url + path

    def link(self, reference: str, email: str | None = None) -> str:
        for (ref, contact), link in self.links.items():
            if ref == reference and (email is None or contact == email):
                return link
        raise KeyError(f"no personal link for {reference} {email or ''}")

    def wait_until_closed(self):
        """Block until the closing campaign's deadline has passed (at most CLOSING_DELAY)."""
        remaining = (self.closes_at - datetime.now(UTC)).total_seconds() + 1
        if remaining > 0:
            time.sleep(remaining)


def _flask(env, *args, stdin=None) -> str:
    command = [sys.executable, "-m", "flask", "--app", "survey", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _parse_demo(output: str):
    accounts = {}
    for label, email, password in re.findall(r"^\s+(.+?) : (\S+@\S+) / (\S+)$", output, re.M):
        accounts["admin" if "dministrat" in label else "reviewer"] = Account(email, password)
    links = {(ref, email): url for ref, email, url in
             re.findall(r"^\s+(\S+) .*\((\S+@\S+)\):\n\s+(http\S+/r/\S+)$", output, re.M)}
    assert set(accounts) == {"reviewer", "admin"} and links, f"unexpected output of `flask demo`:\n{output}"
    return accounts, links


def flask(site, *args) -> str:
    """Run a ``flask`` command on the running site's database (set-up of a test module's own campaign)."""
    return _flask(site.env, *args)


def write_csv(path: Path, rows) -> Path:
    """An import file: (reference, structure, SIRET, Caf, commune, contact) rows."""
    return _write_csv(path, rows)


def mailed_links(site) -> dict[tuple[str, str], str]:
    """(reference, recipient) -> the personal link of each invitation received so far."""
    return _mailed_links(site.mailbox)


def _mailed_links(mailbox: SmtpServer) -> dict[tuple[str, str], str]:
    """(reference, recipient) -> the personal link of each invitation received so far."""
    links = {}
    for recipients, message in mailbox.mailbox.messages:
        text = message.get_body(preferencelist=("plain",)).get_content()
        reference = re.search(r"^Projet : (\S+)", text, re.M)
        link = re.search(r"(http\S+/r/\S+)", text)
        if reference and link:
            for recipient in recipients:
                links[(reference.group(1), recipient)] = link.group(1)
    return links


def _write_csv(path: Path, rows) -> Path:
    lines = ["reference;structure;siret;caf;commune;emails"] + [";".join(row) for row in rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """gunicorn serving a fresh demo database, with a campaign that closes during the run."""
    reason = _missing_browser()
    if reason:
        _skip_or_fail(reason)
    from survey.demo import DEMO_CAMPAIGN

    workdir = tmp_path_factory.mktemp("browser-site")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    mailbox = SmtpServer().start()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURVEY_")}
    env.update({
        "SURVEY_ENV": "production",
        "SURVEY_SECRET_KEY": secrets.token_hex(32),
        "SURVEY_DATABASE_URL": f"sqlite:///{workdir / 'survey.sqlite3'}",
        "SURVEY_UPLOAD_DIR": str(workdir / "uploads"),
        "SURVEY_INSTANCE_PATH": str(workdir / "instance"),
        "SURVEY_BASE_URL": base_url,
        "SURVEY_SMTP_HOST": "127.0.0.1",
        "SURVEY_SMTP_PORT": str(mailbox.port),
        "SURVEY_SMTP_TIMEOUT": "10",
        "SURVEY_MAIL_PER_SECOND": "0",
        "SURVEY_RATELIMIT_STORAGE_URI": "memory://",
        # The demo administrator has no authenticator app (the second factor has its own tests).
        "SURVEY_ADMIN_SECOND_FACTOR": "0",
    })
    process = None
    try:
        accounts, links = _parse_demo(_flask(env, "demo"))

        now = datetime.now(PARIS).replace(microsecond=0)
        closes = now + CLOSING_DELAY
        _flask(env, "create-campaign", CLOSING_CAMPAIGN, str(DEFINITION),
               "--opens", f"{now - timedelta(hours=1):%Y-%m-%d %H:%M:%S}", "--closes", f"{closes:%Y-%m-%d %H:%M:%S}",
               "--tz", "Europe/Paris", "--title", CLOSING_TITLE)
        # The demo's first project and contact, funded again: the same partner.
        _flask(env, "import-projects", CLOSING_CAMPAIGN, str(_write_csv(workdir / "closing.csv", [
            ("CLAS-73-001", "Association Les Petits Savants", "77567227200017", "731", "Chambéry",
             "direction@petits-savants.example")])))
        _flask(env, "send-invitations", CLOSING_CAMPAIGN)
        closing_link = _mailed_links(mailbox)[("CLAS-73-001", "direction@petits-savants.example")]
        assert datetime.now(PARIS) < closes, "the set-up took longer than CLOSING_DELAY: the invitations left too late"

        mailbox.clear()
        _flask(env, "import-projects", DEMO_CAMPAIGN, str(_write_csv(workdir / "demo.csv", IMPORTED)))
        _flask(env, "send-invitations", DEMO_CAMPAIGN)
        mailed = _mailed_links(mailbox)
        links.update({(ref, email): mailed[(ref, email)] for ref, *_, email in IMPORTED})

        log = workdir / "gunicorn.log"
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                   "--access-logfile", str(workdir / "access.log"), "--error-logfile", str(log)]
        from gunicorn.config import Config
        if "control_socket_disable" in Config().settings:
            command.append("--no-control-socket")  # newer gunicorns would share one socket in ~/.gunicorn
        process = subprocess.Popen([*command, "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for(base_url + "/connexion", process, log)
        _ON_FAILURE["log"] = log
        yield Site(base_url, accounts["reviewer"], accounts["admin"], links, closing_link,
                   closes.astimezone(UTC), mailbox, env)
    finally:
        _ON_FAILURE["log"] = None
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        mailbox.stop()


# -- the browser -----------------------------------------------------------------
# What the failure hook shows: screenshots of the browser's pages, and where the server logs.
_ON_FAILURE: dict = {"browser": None, "dir": None, "log": None}


@pytest.fixture(scope="session")
def browser(site, tmp_path_factory):
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=10_000)  # a loaded 2-core machine is slow
    _ON_FAILURE["dir"] = tmp_path_factory.mktemp("screenshots")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as exc:  # a broken Chromium install
            _skip_or_fail(f"Chromium at {CHROMIUM} does not start: {exc}")
        _ON_FAILURE["browser"] = chromium
        yield chromium
        _ON_FAILURE["browser"] = None
        chromium.close()


def new_context(browser, **options):
    """A fresh browser profile (cookies of its own), French and in Paris time."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def context(browser):
    """A fresh browser profile for one test, closed afterwards."""
    made = new_context(browser)
    yield made
    made.close()


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, site, account: Account):
    """Sign in through the form, as a person would."""
    page.goto(site.url("/connexion"))
    page.get_by_label("Adresse électronique").fill(account.email)
    page.get_by_label("Mot de passe").fill(account.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/caf/")


def _write_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                     b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                     b"trailer << /Root 1 0 R >>\n%%EOF\n")
    return path


@pytest.fixture
def pdf_file(tmp_path):
    """A small but genuine PDF document."""
    return _write_pdf(tmp_path / "compte-rendu-clas.pdf")


# -- a screenshot of every open page when a test fails ------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    chromium, folder, log = _ON_FAILURE["browser"], _ON_FAILURE["dir"], _ON_FAILURE["log"]
    if not report.failed or report.when == "teardown" or chromium is None or folder is None:
        return
    saved = [f"server log: {log}"] if log else []
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)[:100]
    pages = [page for ctx in chromium.contexts for page in ctx.pages if not page.is_closed()]
    for number, open_page in enumerate(pages, 1):
        path = folder / f"{name}-{report.when}-{number}.png"
        try:
            open_page.screenshot(path=str(path), full_page=True, timeout=5_000)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            saved.append(f"{open_page.url}: no screenshot ({exc})")
            continue
        saved.append(f"{open_page.url} -> {path}")
    report.sections.append(("browser screenshots", "\n".join(saved)))


# -- a bilan transmitted once for the whole run ---------------------------------------
@dataclass
class Transmitted:
    reference: str
    receipt: str
    place: str
    page: object  # the partner's page, still bound to the personal link


@pytest.fixture(scope="session")
def transmitted(site, browser, tmp_path_factory):
    """CLAS-73-004, answered and transmitted by its partner (with the mouse)."""
    from .questionnaire import answer_and_transmit, complete_answers
    reference, structure, siret, _caf, _commune, email = IMPORTED[1]
    place = "Salle des fêtes de Bissy"
    pdf = _write_pdf(tmp_path_factory.mktemp("transmitted") / "bilan-bissy.pdf")
    context = new_context(browser)
    page = context.new_page()
    receipt = answer_and_transmit(page, site.link(reference, email), complete_answers(structure, siret, email, place=place), pdf)
    yield Transmitted(reference, receipt, place, page)
    context.close()
