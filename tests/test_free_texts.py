"""Free texts, the heart of the bilan: never cut, shown back whole when refused, paragraphs kept everywhere."""
import html
import re

from survey.mail.occasions import send_receipt
from survey.models import Response
from tests.conftest import complete_clas_answers
from tests.mail_support import in_app, smtp  # noqa: F401 (the SMTP server fixture)

PARAGRAPHS = ("Premier paragraphe : les enfants ont gagné en confiance.",
              "Deuxième paragraphe : les parents sont venus aux ateliers.",
              "Troisième, après une ligne\nqui continue à la ligne suivante.")
BILAN = "\n\n".join(PARAGRAPHS)


def body(response):
    return html.unescape(response.get_data(as_text=True))


def stored(db, response_id) -> Response:
    db.expire_all()
    return db.get(Response, response_id)


def fill(partner, bilan=BILAN):
    pages = complete_clas_answers()
    pages[8]["bilan_qualitatif"] = bilan
    for number, data in pages.items():
        partner.save_page(number, data)


def test_no_field_carries_a_maxlength_that_would_cut_a_paste(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number in range(1, 9):
        assert "maxlength" not in partner.get(f"/bilan/page/{number}").get_data(as_text=True)


def test_a_text_over_the_limit_is_refused_and_shown_back_whole(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(8, {"bilan_qualitatif": "Premier jet du bilan, bien assez long pour être accepté tel quel."})
    too_long = "\n\n".join(f"Paragraphe {n}. " + "Un texte collé depuis un traitement de texte. " * 70
                           for n in range(10))
    assert len(too_long) > 30_000
    page = partner.save_page(8, {"bilan_qualitatif": too_long})
    text = body(page)
    size = len(too_long.strip())
    french = lambda n: f"{n:,}".replace(",", "\u00a0")  # noqa: E731
    assert (f"Le texte compte {french(size)} caractères, pour 30\u00a0000 au plus : "
            f"raccourcissez-le de {french(size - 30_000)} caractères") in text
    assert "<title>Erreur : " in text
    area = re.search(r'<textarea[^>]*name="bilan_qualitatif"[^>]*>(.*?)</textarea>', text, re.S).group(1)
    assert area.replace("\r\n", "\n") == too_long.strip()  # the whole text, paragraphs included
    response = stored(db, response_id)
    assert "bilan_qualitatif" not in response.answers
    assert response.invalid["bilan_qualitatif"]["value"] == too_long.strip()


def test_the_count_and_the_limit_are_written_in_french_without_javascript(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(8, {"bilan_qualitatif": "x" * 12_348})
    page = body(partner.get("/bilan/page/8"))
    assert "Entre 50 et 30\u00a0000 caractères." in page
    assert "12\u00a0348 caractères sur 30\u00a0000" in page
    # Heard only from the live region, which the script fills near the limit: empty on arrival.
    assert re.search(r'<p class="visually-hidden" id="s-bilan_qualitatif" aria-live="polite"></p>', page)
    assert re.search(r'<p class="char-count"[^>]*aria-hidden="true"', page)


def test_texts_are_stored_with_line_breaks_normalised_and_outer_spaces_trimmed(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    typed = "  \r\nLigne un\r\n\r\nLigne\x07 deux\x00\t fin  \r\n "
    partner.save_page(8, {"bilan_qualitatif": typed + "x" * 50})
    assert stored(db, response_id).answers["bilan_qualitatif"] == "Ligne un\n\nLigne deux\t fin  \r\n " .replace(
        "\r\n", "\n") + "x" * 50


def _paragraph_blocks(page: str) -> list[str]:
    return [re.sub(r"<br>\s*", "\n", p) for p in re.findall(r"<p>(.*?)</p>", page, re.S)]


def test_paragraphs_survive_the_summary_the_reviewer_page_and_the_history(factory, partner_for, caf_user):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    fill(partner)
    summary = body(partner.get("/bilan/recapitulatif"))
    for paragraph in PARAGRAPHS:
        assert paragraph in _paragraph_blocks(summary)
    reviewer = caf_user()
    page = body(reviewer.get(f"/caf/reponses/{response_id}"))
    for paragraph in PARAGRAPHS:
        assert paragraph in _paragraph_blocks(page)
    history = page[page.index('id="historique"'):]
    assert PARAGRAPHS[1] in _paragraph_blocks(history)


def test_paragraphs_survive_the_receipt_email_text_and_html(app, smtp, factory, partner_for):  # noqa: F811
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    fill(partner)
    assert partner.transmit().status_code == 302
    in_app(app, lambda db: send_receipt(db, response_id))
    message = smtp.messages[0]
    text = message.get_body(("plain",)).get_content()
    assert "\n\n".join("  " + line for line in PARAGRAPHS[:2]) in text.replace("\r\n", "\n")
    page = message.get_body(("html",)).get_content()
    for paragraph in PARAGRAPHS:
        assert paragraph in _paragraph_blocks(page)


def test_a_save_with_errors_raises_one_alert_not_two(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    page = body(partner.save_page(1, {"siret": "123", "email": "pas-une-adresse"}))
    assert page.count('role="alert"') == 1
    assert "Vos réponses sont enregistrées, mais certaines sont à corriger." in page
