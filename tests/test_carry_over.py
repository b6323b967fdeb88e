"""The next year: a second campaign on clas-2024-2025 beside 2023-2024, and carrying answers over."""
import copy
import csv
import html
import io
import json
import re
from datetime import UTC, datetime

from sqlalchemy import select

from survey.db import get_session
from survey.models import Campaign, Contact, EventKind, Response, ResponseEvent
from survey.operations import enrol_project, issue_link
from survey.questionnaires import DEFINITIONS_DIR
from tests.conftest import complete_clas_answers

UTC = UTC
CLAS_2025 = json.loads((DEFINITIONS_DIR / "clas-2024-2025.json").read_text(encoding="utf-8"))


def body(response):
    return html.unescape(response.get_data(as_text=True))


def next_year(app, factory, response_id, content=CLAS_2025):
    """Enrol the project of ``response_id`` in a 2024-2025 campaign; returns (response id, token)."""
    campaign = factory.campaign(content, opens=datetime(2025, 6, 1, tzinfo=UTC), closes=datetime(2025, 7, 15, 21, 59, 59, tzinfo=UTC))
    with app.app_context():
        db = get_session()
        project = db.get(Response, response_id).project
        response = enrol_project(db, db.get(Campaign, campaign), project)
        token = issue_link(db, db.scalar(select(Contact).where(Contact.project_id == project.id)), response)
        db.commit()
        return response.id, token


def answered_last_year(factory, partner_for):
    response_id, (token,) = factory.project(factory.campaign(), reference="SAV-1")
    partner = partner_for(token)
    pages = complete_clas_answers()
    pages[8]["document"] = (io.BytesIO(b"%PDF-1.4 2024"), "bilan2024.pdf")
    for number, data in pages.items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    return response_id


def test_a_project_carries_its_unchanged_answers_into_the_next_year(app, factory, partner_for, clock, db):
    old_id = answered_last_year(factory, partner_for)
    new_id, token = next_year(app, factory, old_id)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    partner = partner_for(token)
    start = body(partner.get("/bilan"))
    assert "Vous avez déjà répondu au bilan « Clas 2023-2024 : bilan qualitatif »" in start
    done = partner.client.post("/bilan/reprise", data=partner.hidden(), follow_redirects=True)
    db.expire_all()
    old, new = db.get(Response, old_id), db.get(Response, new_id)
    assert new.definition_version == 2 and new.campaign.definition_code == "clas-2024-2025"
    for code in ("qpv", "tranches_age", "situations_enfants", "statut_structure", "statut_structure_autre"):
        assert new.answers[code] == old.answers[code], code
    assert "document" not in new.answers  # attachments are not carried
    assert "bilan_qualitatif" not in new.answers  # the bilan is about the new year: written anew
    # The page lists what was copied, for review.
    listed = re.search(r"<p>([^<]*ont été reprises[^<]*)</p>", body(done)).group(1)
    assert "« Votre action se déroule dans un QPV ? »" in listed
    assert "Bilan qualitatif de l’action »" not in listed
    assert "bonus_enfant_demande" not in new.answers
    assert new.answers["nom_structure"] == new.project.structure_name  # the import's prefill wins
    carried = {e.code for e in db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == new_id,
                                                                      ResponseEvent.kind == EventKind.CARRIED_OVER))}
    assert "qpv" in carried and "nom_structure" not in carried
    # The partner sees what was carried over.
    page = body(partner.get("/bilan/page/3"))
    assert page.count("Réponse reprise du bilan de l’année précédente") == 2
    # Only once.
    again = partner.client.post("/bilan/reprise", data={**partner.hidden()}, follow_redirects=True)
    assert "Aucune réponse de l'année précédente ne peut être reprise" in body(again)


def test_a_reworded_question_is_not_carried(app, factory, partner_for, clock, db):
    old_id = answered_last_year(factory, partner_for)
    changed = copy.deepcopy(CLAS_2025)
    changed["code"] = "clas-2024-2025-bis"
    for page in changed["pages"]:
        for question in page["questions"]:
            if question["code"] == "qpv":
                question["label"] = "Votre action se déroule-t-elle dans un quartier prioritaire ?"
    new_id, token = next_year(app, factory, old_id, changed)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    partner = partner_for(token)
    partner.get("/bilan")
    partner.client.post("/bilan/reprise", data=partner.hidden())
    db.expire_all()
    new = db.get(Response, new_id)
    assert "qpv" not in new.answers and new.answers["tranches_age"] == ["primaire", "college"]


def test_both_years_display_and_export_with_their_own_definition(app, factory, partner_for, caf_user, clock, db):
    old_id = answered_last_year(factory, partner_for)
    new_id, token = next_year(app, factory, old_id)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    partner_for(token).save_page(8, {"bonus_enfant_demande": "oui", "bonus_enfant_criteres": ["sorties_culturelles"]})
    reviewer = caf_user()
    old_page = body(reviewer.get(f"/caf/reponses/{old_id}"))
    assert "Bonus enfant" not in old_page and "Maison de quartier" in old_page
    new_page = body(reviewer.get(f"/caf/reponses/{new_id}"))
    assert "Bonus enfant et bonus parents" in new_page
    db.expire_all()
    old_campaign, new_campaign = db.get(Response, old_id).campaign_id, db.get(Response, new_id).campaign_id
    old_csv = list(csv.reader(io.StringIO(reviewer.get(f"/caf/campagnes/{old_campaign}/export.csv?entetes=codes").data.decode("utf-8-sig")), delimiter=";"))
    new_csv = list(csv.reader(io.StringIO(reviewer.get(f"/caf/campagnes/{new_campaign}/export.csv?entetes=codes").data.decode("utf-8-sig")), delimiter=";"))
    assert "bonus_enfant_demande" not in old_csv[0] and "bonus_enfant_demande" in new_csv[0]
    row = dict(zip(new_csv[0], new_csv[1], strict=True))
    assert row["bonus_enfant_demande"] == "Oui" and row["bonus_enfant_criteres.sorties_culturelles"] == "Oui"
    assert dict(zip(old_csv[0], old_csv[1], strict=True))["lieu_action"] == "Maison de quartier"


def test_no_bonus_criterion_ticked_with_another_is_kept_and_listed_to_correct_before_transmission(factory, partner_for, clock, db):
    campaign = factory.campaign(CLAS_2025, opens=datetime(2025, 6, 1, tzinfo=UTC), closes=datetime(2025, 7, 15, 21, 59, 59, tzinfo=UTC))
    response_id, (token,) = factory.project(campaign)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    partner = partner_for(token)
    bonus = {"bonus_enfant_demande": "oui", "bonus_enfant_projet": "oui"}
    message = "« Aucun de ces critères » ne peut pas être coché avec un autre choix."

    page = partner.save_page(8, {**bonus, "bonus_enfant_criteres": ["aucun", "sorties_culturelles"]})

    assert page.status_code == 200 and message in body(page)
    db.expire_all()
    assert set(db.get(Response, response_id).answers["bonus_enfant_criteres"]) == {"aucun", "sorties_culturelles"}
    assert f"À corriger : {message}" in body(partner.get("/bilan/recapitulatif"))

    assert partner.save_page(8, {**bonus, "bonus_enfant_criteres": ["aucun"]}).status_code == 302
    assert message not in body(partner.get("/bilan/recapitulatif"))


def test_a_reviewer_cannot_tick_no_bonus_criterion_with_another(factory, caf_user, clock, db):
    campaign = factory.campaign(CLAS_2025, opens=datetime(2025, 6, 1, tzinfo=UTC), closes=datetime(2025, 7, 15, 21, 59, 59, tzinfo=UTC))
    response_id, _ = factory.project(campaign)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    reviewer = caf_user()
    page = f"/caf/reponses/{response_id}/pages/8"

    refused = reviewer.post(page, {"bonus_enfant_demande": "oui", "bonus_enfant_projet": "oui",
                                   "bonus_enfant_criteres": ["aucun", "sorties_culturelles"]}, from_page=page)

    assert refused.status_code == 422
    assert "« Aucun de ces critères » ne peut pas être coché avec un autre choix." in body(refused)
    db.expire_all()
    assert "bonus_enfant_criteres" not in db.get(Response, response_id).answers
