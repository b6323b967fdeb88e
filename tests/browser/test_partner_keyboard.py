"""Journey 1: a partner answers the whole bilan with the keyboard alone, transmits it,
and comes back after the deadline to a closed questionnaire."""
import pytest

from . import keyboard
from .keyboard import fill_page, press, tick
from .questionnaire import PAGE_COUNT, RECEIPT, complete_answers

pytestmark = pytest.mark.browser

CONTACT = "direction@petits-savants.example"


def test_a_partner_answers_every_page_with_the_keyboard_and_transmits(site, page, pdf_file):
    from playwright.sync_api import expect

    keyboard.pressed.clear()
    page.goto(site.link("CLAS-73-001", CONTACT))  # the personal link: the only address typed
    expect(page.get_by_role("heading", level=1)).to_have_text("Clas 2023-2024 : bilan qualitatif")
    with page.expect_navigation():
        press(page, page.get_by_role("link", name="Commencer le questionnaire"))

    pages = complete_answers("Association Les Petits Savants", "77567227200017", CONTACT)
    # Step 2 out of order: the street first, then back to its number with Shift+Tab.
    street_number, street = pages[1][4], pages[1][5]
    pages[1] = [*pages[1][:4], street, street_number]
    for number, fields in enumerate(pages, 1):
        assert page.url.endswith(f"/bilan/page/{number}"), page.url
        expect(page.locator(".step")).to_have_text(f"Étape {number} sur {PAGE_COUNT}")
        # Buttons are pressed with Space on odd steps, Enter on even ones.
        fill_page(page, number, fields, pdf_file, key="Space" if number % 2 else "Enter")

    assert page.url.endswith("/bilan/recapitulatif"), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Récapitulatif de votre bilan")
    expect(page.locator("section.summary-page h2")).to_have_count(PAGE_COUNT)
    summary = page.locator("main").inner_text()
    for answer in ("Association Les Petits Savants", "Fondation reconnue d'utilité publique", "rue de la Gare",
                   "11 à 15 ans (collège)", "compte-rendu-clas.pdf", "les enfants ont gagné en autonomie"):
        assert answer in summary, f"the summary does not show « {answer} »"
    expect(page.locator(".error-summary")).to_have_count(0)

    tick(page, "certifie", "oui")
    with page.expect_navigation():
        press(page, page.get_by_role("button", name="Transmettre à la Caf"), limit=200)
    assert page.url.endswith("/bilan/accuse-de-reception"), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre bilan a bien été transmis à la Caf")
    expect(page.locator(".reference")).to_have_text(RECEIPT)
    # Tab and Shift+Tab, the arrows, Space and Enter: each was needed on the way.
    assert all(keyboard.pressed[key] for key in ("Tab", "Shift+Tab", "ArrowDown", "Space", "Enter")), keyboard.pressed


def test_after_the_deadline_the_same_partner_finds_the_questionnaire_closed_with_its_answers(site, page):
    from playwright.sync_api import expect

    site.wait_until_closed()
    page.goto(site.closing_link)
    expect(page.locator(".notice-closed")).to_contain_text("Questionnaire fermé.")
    with page.expect_navigation():
        press(page, page.get_by_role("link", name="Consulter vos réponses"))
    assert page.url.endswith("/bilan/recapitulatif"), page.url
    expect(page.locator(".notice-closed")).to_contain_text("Questionnaire fermé.")
    # What the Caf prefilled is still there; nothing can be changed or transmitted.
    expect(page.locator("section.summary-page").first).to_contain_text("Association Les Petits Savants")
    expect(page.get_by_role("button", name="Transmettre à la Caf")).to_have_count(0)
    expect(page.locator("a.edit-link")).to_have_count(0)
