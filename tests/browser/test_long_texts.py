"""A volunteer pastes a bilan written in Word: nothing is cut, its paragraphs are kept everywhere."""
import pytest

from .conftest import new_context, sign_in

pytestmark = pytest.mark.browser

REFERENCE = "CLAS-73-005"
CONTACT = "bilan@combes.example"


def word_bilan(length: int) -> str:
    """Paragraphs separated by blank lines, exactly ``length`` characters long."""
    paragraphs, n = [], 0
    while sum(len(p) + 2 for p in paragraphs) < length:
        n += 1
        paragraphs.append(f"Paragraphe {n} : les enfants ont progressé, leurs parents sont venus aux ateliers du jeudi. "
                          + "L’équipe a travaillé avec les écoles du quartier. " * 6)
    return "\n\n".join(paragraphs)[:length].rstrip() + "."


def paste(page, text: str):
    """Put ``text`` in the bilan as a paste does: through the browser's editing, which maxlength would cut."""
    area = page.locator('textarea[name="bilan_qualitatif"]')
    area.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def test_a_pasted_bilan_is_kept_whole_with_its_paragraphs(site, browser):
    from playwright.sync_api import expect

    partner_context, reviewer_context = new_context(browser), new_context(browser)
    partner, reviewer = partner_context.new_page(), reviewer_context.new_page()
    try:
        partner.goto(site.link(REFERENCE, CONTACT))
        partner.goto(site.url("/bilan/page/8"))

        # Over the limit: refused by the server, and shown back whole with the error beside it.
        too_long = word_bilan(31_000)
        paste(partner, too_long)
        assert partner.locator('textarea[name="bilan_qualitatif"]').input_value() == too_long
        expect(partner.locator(".char-count")).to_contain_text("de trop")
        # Screen readers hear the count only now, near or over the limit, once typing pauses.
        expect(partner.locator("#s-bilan_qualitatif")).to_have_text(
            f"Vous avez dépassé la limite de {len(too_long) - 30_000:,} caractères.".replace(",", "\u00a0"))
        with partner.expect_navigation():
            partner.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(partner.locator("#e-bilan_qualitatif")).to_contain_text("raccourcissez-le")
        assert partner.locator('textarea[name="bilan_qualitatif"]').input_value() == too_long
        assert partner.title().startswith("Erreur : ")

        # 12,345 characters: saved whole.
        bilan = word_bilan(12_345)
        assert len(bilan) == 12_345 and bilan.count("\n\n") >= 10
        paste(partner, bilan)
        expect(partner.locator(".char-count")).to_have_text("12\u00a0345 caractères sur 30\u00a0000")
        partner.wait_for_timeout(1_500)
        expect(partner.locator("#s-bilan_qualitatif")).to_have_text("")  # far from the limit: silent
        with partner.expect_navigation():
            partner.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(partner.locator(".notice-ok")).to_contain_text("Vos réponses sont enregistrées")
        assert partner.locator('textarea[name="bilan_qualitatif"]').input_value() == bilan

        paragraphs = [p.strip() for p in bilan.split("\n\n")]
        partner.goto(site.url("/bilan/recapitulatif"))
        shown = partner.locator(".answer-text p").all_inner_texts()
        assert paragraphs[0] in shown and paragraphs[-1] in shown

        sign_in(reviewer, site, site.reviewer)
        reviewer.get_by_role("link", name="Clas 2023-2024 : bilan qualitatif", exact=True).click()
        reviewer.get_by_role("link", name=REFERENCE, exact=True).click()
        shown = reviewer.locator(".answer-text p").all_inner_texts()
        assert paragraphs[0] in shown and paragraphs[5] in shown and paragraphs[-1] in shown
    finally:
        partner_context.close()
        reviewer_context.close()


def test_a_document_too_big_is_stopped_before_it_leaves_with_the_texts(site, browser, tmp_path):
    from playwright.sync_api import expect

    big = tmp_path / "film-de-la-fete.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024))  # over the 10 MB limit
    context = new_context(browser)
    partner = context.new_page()
    try:
        partner.goto(site.link(REFERENCE, CONTACT))
        partner.goto(site.url("/bilan/page/8"))
        text = "Un bilan tapé pendant une heure.\n\nIl ne doit pas se perdre à cause d’un fichier."
        paste(partner, text)
        partner.locator('input[type="file"]').set_input_files(str(big))
        partner.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(partner.locator("#e-js-f-document")).to_contain_text("dépasse la taille maximale de 10 Mo")
        assert partner.url.endswith("/bilan/page/8")  # nothing was sent
        assert partner.locator('textarea[name="bilan_qualitatif"]').input_value() == text
        partner.locator('input[type="file"]').set_input_files([])
        with partner.expect_navigation():
            partner.get_by_role("button", name="Enregistrer", exact=True).click()
        assert partner.locator('textarea[name="bilan_qualitatif"]').input_value() == text
    finally:
        context.close()


def test_an_error_link_lands_focus_on_its_field_with_the_question_in_view(site, browser):
    from playwright.sync_api import expect

    context = new_context(browser)
    partner = context.new_page()
    try:
        partner.goto(site.link(REFERENCE, CONTACT))
        partner.goto(site.url("/bilan/page/1"))
        partner.locator('input[name="siret"]').fill("123")
        with partner.expect_navigation():
            partner.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(partner.locator('[role="alert"]')).to_have_count(1)
        partner.locator(".error-summary a", has_text="SIRET").first.click()
        expect(partner.locator('input[name="siret"]')).to_be_focused()
        label_top = partner.locator('label[for="f-siret"]').evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= label_top < 200, label_top  # the question's label is in view, above the field
        # From the summary, "Modifier" opens the page with the field focused.
        partner.goto(site.url("/bilan/recapitulatif"))
        partner.get_by_role("link", name="Modifier : Numéro de Siret").click()
        expect(partner.locator('input[name="siret"]')).to_be_focused()
    finally:
        context.close()
