"""A reviewer's reminder in a real browser: preview, send, the progress page updating itself (and, without
JavaScript, by its link) until done, then the refused message listed and sent again."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .audit import assert_accessible
from .conftest import new_context, sign_in

pytestmark = pytest.mark.browser

REFUSED = "bilan@combes.example"  # CLAS-73-005's contact, imported by the site's set-up
# Where the pages' pictures go when SURVEY_SCREENSHOTS names a folder (to look at them).
SHOTS = os.environ.get("SURVEY_SCREENSHOTS")


def shoot(page, name):
    if not SHOTS:
        return
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def reviewer(site, browser):
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, site, site.reviewer)
    yield page
    context.close()


def wait_without_javascript(site, browser, url):
    """The progress page, in a browser with no script at all: « Mettre à jour » until nothing waits."""
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site, site.reviewer)
        page.goto(url)
        for _ in range(30):
            if page.get_by_role("link", name="Mettre à jour").count() == 0:
                break
            page.wait_for_timeout(500)
            page.get_by_role("link", name="Mettre à jour").click()
        expect(page.get_by_text("L’envoi est terminé.")).to_be_visible()
    finally:
        context.close()


def test_a_reminder_from_preview_to_progress_to_failures(site, browser, reviewer):
    page = reviewer
    site.mailbox.refuse(REFUSED)
    try:
        page.get_by_role("link", name="Clas 2023-2024 : bilan qualitatif", exact=True).click()
        page.get_by_role("link", name="Invitations et relances").click()
        shoot(page, "emails-form")
        page.get_by_label("Relance des projets qui n’ont pas transmis").check()
        page.get_by_label("Pour une relance", exact=False).fill("11")
        page.get_by_role("button", name="Voir l’aperçu").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            re.compile(r"Aperçu : la relance «\sJ.11\s» – Caf de la Savoie"))
        page.locator("details.panel summary").first.click()
        expect(page.locator(".message-text").first).to_contain_text("Votre lien personnel")
        assert_accessible(page, "emails: preview of a reminder")
        shoot(page, "emails-preview")
        page.get_by_role("button", name="Envoyer", exact=False).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Envoi : Relance «\sJ.11\s»"))
        assert_accessible(page, "emails: progress of a round")
        shoot(page, "emails-progress")
        wait_without_javascript(site, browser, page.url)
        # With scripts, the open page has put in the new figures by itself, without a reload.
        expect(page.locator("#progress-status")).to_have_text("L’envoi est terminé.", timeout=15_000)
        expect(page.locator("tr", has_text="Échecs")).to_contain_text("1")
        page.get_by_role("link", name="Voir les envois en échec et les renvoyer").click()
        expect(page.locator("table.failures")).to_contain_text(REFUSED)
        expect(page.locator("table.failures")).to_contain_text("Adresse refusée par le serveur de messagerie")
        assert_accessible(page, "emails: failed sends")
        shoot(page, "emails-failures")
        del site.mailbox.mailbox.refused[REFUSED]
        before = len(site.mailbox.to(REFUSED))  # the set-up's invitation
        page.get_by_role("button", name=f"Renvoyer à {REFUSED} (CLAS-73-005)").click()
        expect(page.get_by_role("status")).to_contain_text("1 message de nouveau en attente d’envoi")
        for _ in range(30):  # the outbox sends it within seconds
            if len(site.mailbox.to(REFUSED)) > before:
                break
            page.wait_for_timeout(500)
        (resent,) = site.mailbox.to(REFUSED)[before:]
        assert str(resent["Subject"]).startswith("Clas 2023-2024 : bilan qualitatif – rappel")
    finally:
        site.mailbox.mailbox.refused.pop(REFUSED, None)
