"""A third questionnaire, not Clas (tests/definitions/sejours-2025.json): numbers, dates, richer conditions
and a conditional page, through the partner's pages, the summary, the exports and the dashboard."""
import csv
import html
import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest

from survey.models import Response, ResponseState
from tests.conftest import TESTS

UTC = UTC
SEJOURS = json.loads((TESTS / "definitions" / "sejours-2025.json").read_text(encoding="utf-8"))
DAY_TRIPS = {"structure": "Les Petits Loups", "referent": "Camille Martin", "telephone": "04 79 00 00 00",
             "formule": "journees", "debut": "14/07/2025", "participants": "1 2", "cout": "1 234,50"}
STORY = "Un séjour réussi : les enfants ont découvert la montagne."


def body(response):
    return html.unescape(response.get_data(as_text=True))


def stored(db, response_id) -> Response:
    db.expire_all()
    return db.get(Response, response_id)


@pytest.fixture
def sejours(factory):
    return factory.campaign(SEJOURS, opens=datetime(2025, 1, 1, tzinfo=UTC), closes=datetime(2025, 12, 31, tzinfo=UTC))


@pytest.fixture
def partner(sejours, factory, partner_for, clock):
    clock.set(datetime(2025, 7, 20, 8, tzinfo=UTC))
    response_id, (token,) = factory.project(sejours)
    return response_id, partner_for(token)


def test_numbers_and_dates_are_typed_the_french_way_and_stored_as_values(partner, db):
    response_id, browser = partner
    page = body(browser.get("/bilan/page/1"))
    assert 'autocomplete="organization"' in page and 'autocomplete="tel"' in page and 'autocomplete="name"' in page
    assert 'inputmode="numeric"' in page and 'inputmode="decimal"' in page
    assert "Format : jj/mm/aaaa, par exemple 15/07/2024, entre le 01/01/2025 et le 31/12/2025." in page
    assert '<span class="unit" aria-hidden="true">€</span>' in page
    shown = browser.save_page(1, {**DAY_TRIPS, "participants": "douze", "debut": "31/06/2025", "cout": "12,345"})
    page = body(shown)
    assert "Écrivez un nombre en chiffres, par exemple 12." in page
    assert "Le 31/06/2025 n’existe pas dans le calendrier" in page
    assert "Le nombre doit aller de 0,01 en 0,01." in page
    assert 'value="douze"' in page, "what was typed is shown back"
    response = stored(db, response_id)
    assert response.invalid["debut"]["value"] == "31/06/2025" and "participants" not in response.answers
    browser.save_page(1, {**DAY_TRIPS, "participants": "12"})
    response = stored(db, response_id)
    assert (response.answers["debut"], response.answers["participants"], response.answers["cout"]) == ("2025-07-14", 12, 1234.5)
    assert response.invalid == {}
    page = body(browser.get("/bilan/page/1"))
    assert 'value="14/07/2025"' in page and 'value="1234,5"' in page


def test_a_page_that_does_not_apply_is_skipped_and_its_answers_cleared(partner, db):
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "12", "formule": "nuitees"}, action="next")
    assert browser.save_page(2, {"nuits": "6", "nuit_difficile": "Calmes."}, action="previous").headers["Location"].endswith("/bilan/page/1")
    assert stored(db, response_id).answers["nuit_difficile"] == "Calmes."
    moved = browser.save_page(1, {**DAY_TRIPS, "participants": "12"}, action="next")
    assert moved.headers["Location"].endswith("/bilan/page/3"), "the lodging page does not apply to day trips"
    answers = stored(db, response_id).answers
    assert "nuits" not in answers and "nuit_difficile" not in answers
    page = body(browser.get("/bilan/page/2"))
    assert "cette étape ne vous concerne pas" in page
    assert "sans objet" in body(browser.get("/bilan/page/3"))
    assert "D’après vos réponses, cette étape ne vous concerne pas." in body(browser.get("/bilan/recapitulatif"))


def test_conditions_on_earlier_pages_and_combinations_decide_on_the_server(partner, db):
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "60"})
    page = body(browser.get("/bilan/page/3"))
    # participants >= 50, on page 1: decided by the server, handed to app.js as a constant.
    assert "data-condition='{\"const\": true}'" in page
    # none_of on this page, and formule == journees on page 1: not asked with formule "nuitees", never rendered.
    browser.save_page(1, {**DAY_TRIPS, "participants": "60", "formule": "nuitees"})
    assert 'id="q-sans_enfants"' not in body(browser.get("/bilan/page/3"))
    browser.save_page(1, {**DAY_TRIPS, "participants": "60"})
    assert 'id="q-sans_enfants"' in body(browser.get("/bilan/page/3"))
    assert "Seulement si (votre réponse à la question « Nombre de participants » est supérieure ou égale à 50 ou " in page
    browser.save_page(3, {"publics": ["ados", "handicap"], "accessibilite": "Une rampe.", "encadrement": "Deux animateurs de plus.",
                          "sans_enfants": "Public adolescent.", "recit": STORY})
    answers = stored(db, response_id).answers
    assert answers["encadrement"] == "Deux animateurs de plus." and answers["sans_enfants"] == "Public adolescent."
    browser.save_page(3, {"publics": ["enfants"], "accessibilite": "Une rampe.", "encadrement": "x", "sans_enfants": "x",
                          "recit": STORY})
    answers = stored(db, response_id).answers
    assert "accessibilite" not in answers and "sans_enfants" not in answers and answers["encadrement"] == "x"
    browser.save_page(1, {**DAY_TRIPS, "participants": "12"})
    assert "encadrement" not in stored(db, response_id).answers, "hidden by a change on an earlier page"


def test_too_many_ticks_are_kept_and_block_the_transmission_until_corrected(partner, db):
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "12"})
    shown = body(browser.save_page(3, {"publics": ["enfants", "ados", "parents", "handicap"], "accessibilite": "Rampe.",
                                       "recit": STORY}))
    assert "Cochez de 1 à 3 réponses : vous en avez coché 4." in shown
    assert stored(db, response_id).answers["publics"] == ["enfants", "ados", "parents", "handicap"]
    browser.transmit()
    assert stored(db, response_id).state is ResponseState.IN_PROGRESS
    browser.save_page(3, {"publics": ["enfants", "ados"], "recit": STORY, "encadrement": "Un de plus."})
    assert browser.transmit().status_code == 302
    assert stored(db, response_id).state is ResponseState.SUBMITTED


def test_exports_write_numbers_as_numbers_and_dates_as_dates_and_the_dashboard_summarises_them(
        sejours, partner, db, caf_user, clock):
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "12"})
    browser.save_page(3, {"publics": ["enfants"], "recit": STORY})
    assert browser.transmit().status_code == 302
    reviewer = caf_user("reviewer", "731")
    rows = list(csv.reader(io.StringIO(reviewer.get(f"/caf/campagnes/{sejours}/export.csv?entetes=codes").get_data(as_text=True)
                                       .lstrip("\ufeff")), delimiter=";"))
    line = dict(zip(rows[0], rows[1], strict=True))
    assert (line["participants"], line["cout"], line["debut"]) == ("12", "1234,5", "14/07/2025")
    book = openpyxl.load_workbook(io.BytesIO(reviewer.get(f"/caf/campagnes/{sejours}/export.xlsx?entetes=codes").data))
    sheet = book["Réponses"]
    heads = [cell.value for cell in sheet[1]]
    cells = {head: cell for head, cell in zip(heads, sheet[2], strict=True)}
    assert cells["participants"].value == 12 and cells["cout"].value == 1234.5
    assert cells["debut"].is_date and cells["debut"].value == datetime(2025, 7, 14)
    codebook = {row[0]: row for row in book["Dictionnaire"].iter_rows(values_only=True)}
    assert codebook["cout"][5] == "Un nombre d’au moins 0 (€)"
    assert codebook["debut"][5] == "date (jj/mm/aaaa)"
    assert codebook["publics.enfants"][5] == "1 = coché | 0 = non coché"
    dashboard = body(reviewer.get(f"/caf/campagnes/{sejours}/tableau-de-bord"))
    assert "<th scope=\"row\">Médiane</th><td class=\"num\">12 enfants</td>" in dashboard
    assert "<th scope=\"row\">juillet 2025</th>" in dashboard
    assert date(2025, 7, 14).isoformat() == stored(db, response_id).answers["debut"]


def test_numbers_dates_and_counted_choices_carry_over_to_next_years_questionnaire(partner, app, factory, partner_for,
                                                                                 clock, db):
    from tests.test_carry_over import next_year
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "12", "formule": "nuitees"})
    browser.save_page(2, {"nuits": "3"})
    browser.save_page(3, {"publics": ["enfants", "ados"], "recit": STORY})
    next_version = json.loads(json.dumps(SEJOURS))
    next_version.update(code="sejours-2026", version=1)
    next_version["pages"][0]["questions"][5]["max"] = "2026-12-31"   # the date question changed: not carried
    new_id, token = next_year(app, factory, response_id, next_version)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    following = partner_for(token)
    following.get("/bilan")
    following.client.post("/bilan/reprise", data=following.hidden())
    new = stored(db, new_id)
    assert (new.answers["participants"], new.answers["cout"], new.answers["nuits"]) == (12, 1234.5, 3)
    assert new.answers["publics"] == ["enfants", "ados"]
    assert "debut" not in new.answers, "a date question with other bounds is asked anew"
    assert "recit" not in new.answers, "a long text is about its year"



def test_the_blank_questionnaire_says_when_a_page_and_a_question_are_asked(sejours, app, db):
    import pypdf

    from survey.models import Campaign
    code = db.get(Campaign, sejours).code
    page = body(app.test_client().get(f"/questionnaire/{code}"))
    assert "Étape à remplir seulement si vous avez répondu « Séjour avec nuitées » à la question « Formule du séjour »." in page
    assert "Question posée seulement si votre réponse à la question « Nombre de nuits » est supérieure ou égale à 5." in page
    assert "Un nombre entier de 1 à 500 (enfants)." in page and "Cochez de 1 à 3 réponses." in page
    pdf = app.test_client().get(f"/questionnaire/{code}.pdf").data
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Étape à remplir seulement si vous avez répondu « Séjour avec nuitées »" in text
    assert "Format : jj/mm/aaaa" in text


def test_a_reviewer_corrects_a_number_and_a_bad_one_changes_nothing(partner, caf_user, db):
    response_id, browser = partner
    browser.save_page(1, {**DAY_TRIPS, "participants": "12"})
    reviewer = caf_user("reviewer", "731")
    url = f"/caf/reponses/{response_id}/pages/1"
    page = body(reviewer.get(url))
    assert 'value="12"' in page and 'value="14/07/2025"' in page
    fields = {**DAY_TRIPS, "participants": "12,5", "reason": "Compté deux fois"}
    refused = reviewer.post(url, fields, from_page=url)
    assert "Écrivez un nombre entier, sans virgule." in body(refused)
    assert stored(db, response_id).answers["participants"] == 12
    reviewer.post(url, {**fields, "participants": "11", "debut": "2025-07-15"}, from_page=url)
    answers = stored(db, response_id).answers
    assert (answers["participants"], answers["debut"]) == (11, "2025-07-15")
