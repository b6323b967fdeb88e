"""Journey 2: a Caf reviewer corrects a transmitted bilan and asks the partner for a correction;
the partner corrects and transmits again; an administrator validates it."""
from datetime import datetime, timedelta

import pytest

from .audit import assert_accessible
from .conftest import PARIS, new_context, sign_in
from .questionnaire import BILAN, RECEIPT, answer_and_transmit, complete_answers, transmit_with_mouse

pytestmark = pytest.mark.browser

REFERENCE = "CLAS-73-003"
CONTACT = "coordination@hauts.example"
REASON = "Lieu confirmé par téléphone avec la coordinatrice"
ASKED = "Précisez le nombre d'enfants accompagnés et les progrès observés."
CORRECTED = BILAN + " Trente-deux enfants ont été accompagnés ; la moitié a gagné un niveau en lecture."


@pytest.fixture
def actors(browser):
    """Three people, each in a browser profile of their own."""
    contexts = {name: new_context(browser) for name in ("partner", "reviewer", "admin")}
    yield {name: context.new_page() for name, context in contexts.items()}
    for context in contexts.values():
        context.close()


def open_response(page, reference):
    """From the Caf's home page: the demo campaign's list, then the project's bilan."""
    page.get_by_role("link", name="Clas 2023-2024 : bilan qualitatif", exact=True).click()
    page.get_by_role("link", name=reference, exact=True).click()
    page.wait_for_url("**/caf/reponses/*")


def test_a_reviewer_corrects_and_asks_for_a_correction_then_an_administrator_validates(site, actors, pdf_file):
    from playwright.sync_api import expect

    partner, reviewer, admin = actors["partner"], actors["reviewer"], actors["admin"]
    answers = complete_answers("Maison de quartier des Hauts", "38012986600014", CONTACT)
    first_receipt = answer_and_transmit(partner, site.link(REFERENCE, CONTACT), answers, pdf_file)

    # The reviewer reads the transmitted bilan.
    sign_in(reviewer, site, site.reviewer)
    open_response(reviewer, REFERENCE)
    expect(reviewer.locator(".state")).to_have_text("Transmis")
    expect(reviewer.locator("main")).to_contain_text(f"référence {first_receipt}")
    expect(reviewer.get_by_role("link", name="compte-rendu-clas.pdf")).to_be_visible()

    # ... corrects an answer, with a reason ...
    reviewer.get_by_role("link", name="Corriger l'étape 2 : Localisation de l’action").click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Corriger : Localisation de l’action")
    reviewer.get_by_label("Lieu de votre action").fill("Gymnase municipal")
    reviewer.get_by_label("Raison de la correction").fill(REASON)
    reviewer.get_by_role("button", name="Enregistrer la correction").click()
    expect(reviewer.locator(".notice-ok")).to_have_text("Correction enregistrée.")
    change = reviewer.locator(".journal > li", has_text=REASON)  # the compact history
    expect(change).to_contain_text(site.reviewer.email)
    expect(change).to_contain_text("Lieu de votre action")
    expect(change).to_contain_text("Maison de quartier")
    expect(change).to_contain_text("Gymnase municipal")

    # ... and asks the partner to correct another one, by a date.
    reviewer.get_by_text("Demander une correction au partenaire").click()
    message = reviewer.get_by_label("Message au partenaire pour « Bilan qualitatif de l’action »")
    expect(message).to_be_hidden()  # a step at a time, a message box only under a ticked question
    reviewer.locator("#c-questions summary", has_text="8. Formation et bilan").click()
    reviewer.locator("#c-bilan_qualitatif").check()
    message.fill(ASKED)
    default = (datetime.now(PARIS).date() + timedelta(days=15)).isoformat()
    expect(reviewer.get_by_label("Le partenaire peut corriger jusqu’au", exact=False)).to_have_value(default)
    until = datetime.now(PARIS).date() + timedelta(days=14)
    reviewer.get_by_label("Le partenaire peut corriger jusqu’au", exact=False).fill(until.isoformat())
    reviewer.get_by_role("button", name="Envoyer la demande de correction").click()
    expect(reviewer.locator(".notice-ok")).to_contain_text("La demande de correction est enregistrée")
    expect(reviewer.locator(".state")).to_have_text("Correction demandée")
    assert_accessible(reviewer, "reviewer: response with a correction request")

    # The partner sees both, corrects and transmits again.
    partner.goto(site.link(REFERENCE, CONTACT))
    expect(partner.locator(".notice-correction")).to_contain_text("La Caf vous demande de corriger votre bilan")
    partner.get_by_role("link", name="Corriger le bilan").click()
    expect(partner.locator(".caf-change")).to_contain_text("« Maison de quartier » remplacé par « Gymnase municipal »")
    assert_accessible(partner, "partner: summary with a correction request")
    partner.locator(".notice-correction").get_by_role("link", name="Bilan qualitatif de l’action").click()
    expect(partner.locator("#correction-bilan_qualitatif")).to_contain_text(ASKED)
    assert_accessible(partner, "partner: page with a correction request")
    partner.get_by_label("Bilan qualitatif de l’action").fill(CORRECTED)
    with partner.expect_navigation():
        partner.get_by_role("button", name="Enregistrer et voir le récapitulatif").click()
    second_receipt = transmit_with_mouse(partner)
    assert RECEIPT.fullmatch(second_receipt)

    # An administrator validates the corrected bilan.
    sign_in(admin, site, site.admin)
    open_response(admin, REFERENCE)
    expect(admin.locator(".state")).to_have_text("Transmis")
    expect(admin.locator("main")).to_contain_text("la moitié a gagné un niveau en lecture")
    admin.get_by_role("button", name="Valider le bilan").click()
    expect(admin.locator(".notice-ok")).to_have_text("Le bilan est validé ; ses contacts en sont avertis par courriel.")
    expect(admin.locator(".state")).to_have_text("Validé")
    expect(admin.get_by_role("button", name="Rouvrir le bilan")).to_be_visible()
    assert_accessible(admin, "administrator: validated response")

    # Locked for everyone: the reviewer can no longer correct it.
    reviewer.reload()
    expect(reviewer.locator(".state")).to_have_text("Validé")
    expect(reviewer.get_by_role("link", name="Corriger l'étape 2 : Localisation de l’action")).to_have_count(0)
