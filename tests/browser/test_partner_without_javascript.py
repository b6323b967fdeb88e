"""Journey 4: the partner's journey in a browser with JavaScript turned off."""
import pytest

from .conftest import new_context
from .questionnaire import RECEIPT, complete_answers, fill_with_mouse, transmit_with_mouse

pytestmark = pytest.mark.browser


@pytest.fixture
def no_script_page(browser):
    context = new_context(browser, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_the_partner_journey_works_without_javascript(site, no_script_page, pdf_file):
    from playwright.sync_api import expect

    page = no_script_page
    page.goto(site.link("CLAS-73-002"))
    expect(page.locator("html.js")).to_have_count(0)  # app.js did not run
    page.get_by_role("link", name="Commencer le questionnaire").click()
    # Without the script, the follow-up of « Autre » is shown from the start.
    expect(page.get_by_label("Si « Autre », précisez")).to_be_visible()

    fill_with_mouse(page, complete_answers("Centre social du Biollay", "41234567000019", "accueil@cs-biollay.example"),
                    pdf_file)
    reference = transmit_with_mouse(page)
    assert RECEIPT.fullmatch(reference)
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre bilan a bien été transmis à la Caf")

    page.get_by_role("link", name="Consulter et imprimer le bilan transmis").click()
    expect(page.locator(".notice-ok")).to_contain_text(f"référence {reference}")
    expect(page.locator("main")).to_contain_text("compte-rendu-clas.pdf")
    expect(page.get_by_role("button", name="Transmettre à la Caf")).to_have_count(0)


def test_without_javascript_the_closed_questionnaire_is_read_only(site, no_script_page):
    from playwright.sync_api import expect

    page = no_script_page
    site.wait_until_closed()
    page.goto(site.closing_link)
    expect(page.locator(".notice-closed")).to_contain_text("Questionnaire fermé.")
    page.goto(site.url("/bilan/page/1"))
    expect(page.locator(".notice-closed")).to_contain_text("Questionnaire fermé.")
    expect(page.locator("form input[name=nom_structure]")).to_have_count(0)
    expect(page.locator(".answers")).to_contain_text("Association Les Petits Savants")
