"""The partner's journey through the Flask test client, on the Clas 2023-2024 bilan."""
import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.access import hash_token
from survey.models import AccessLink, Response, ResponseState
from tests.conftest import ATELIER, complete_clas_answers

UTC = UTC


def body(response) -> str:
    """The page's HTML with entities decoded, to search for French text."""
    return html.unescape(response.get_data(as_text=True))


def stored(db, response_id) -> Response:
    db.expire_all()
    return db.get(Response, response_id)


def answer_everything(partner, pages=None):
    for number, data in (pages or complete_clas_answers()).items():
        response = partner.save_page(number, data, action="next")
        assert response.status_code == 302, partner.html


def test_personal_link_binds_the_session_and_hides_the_token(factory, partner_for, app):
    response_id, (token,) = factory.project(factory.campaign())
    client = app.test_client()
    opened = client.get(f"/r/{token}")
    assert opened.status_code == 302
    assert opened.location.endswith("/bilan")
    assert token not in opened.location
    start = body(client.get("/bilan"))
    assert "Structure " in start and "Caf de la Savoie" in start
    assert "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in start
    assert "Non commencé" in start
    assert opened.headers["Referrer-Policy"] == "no-referrer"


def test_the_session_cookie_is_sent_again_once_a_day_of_use_not_on_every_page(factory, app, clock):
    _, (token,) = factory.project(factory.campaign())
    client = app.test_client()
    assert "Expires=" in client.get(f"/r/{token}").headers["Set-Cookie"]
    client.get("/bilan/page/1")  # the first form puts its CSRF token in the session
    assert "Set-Cookie" not in client.get("/bilan/page/2").headers  # the same day: nothing to re-sign
    clock.now += timedelta(days=30)
    renewed = client.get("/bilan/page/1")
    assert renewed.status_code == 200 and "Expires=" in renewed.headers["Set-Cookie"]  # 45 days from today
    assert "Set-Cookie" not in client.get("/bilan/page/3").headers


def test_only_the_hash_of_a_token_is_stored(factory, db):
    factory.project(factory.campaign())
    _, (token,) = factory.project(factory.campaign())
    link = db.scalar(select(AccessLink).where(AccessLink.token_hash == hash_token(token)))
    assert link is not None
    assert token not in (link.token_hash,)
    assert len(token) >= 32  # 24 random bytes, base64url


def test_wrong_revoked_and_unknown_links_get_the_same_page(factory, app, db):
    _, (token,) = factory.project(factory.campaign())
    _, (revoked,) = factory.project(factory.campaign())
    link = db.scalar(select(AccessLink).where(AccessLink.token_hash == hash_token(revoked)))
    link.revoked_at = datetime.now(UTC)
    db.commit()
    client = app.test_client()
    pages = []
    for candidate in (revoked, token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 40, "court", "../../etc"):
        answer = client.get(f"/r/{candidate}")
        assert answer.status_code == 404
        pages.append(body(answer))
    assert len(set(pages)) == 1
    assert "Ce lien ne permet pas d’accéder au questionnaire" in pages[0]
    assert "Structure" not in pages[0]
    assert client.get("/bilan").status_code == 404


def test_revoking_a_link_ends_the_session_it_opened(factory, partner_for, db):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert partner.get("/bilan").status_code == 200
    link = db.scalar(select(AccessLink).where(AccessLink.token_hash == hash_token(token)))
    link.revoked_at = datetime.now(UTC)
    db.commit()
    assert partner.get("/bilan").status_code == 404


def test_pages_show_steps_and_prefilled_project_data(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    page = partner.get("/bilan/page/3")
    html = body(page)
    assert "Étape 3 sur 8" in html
    assert "<title>Public de l’action – Étape 3 sur 8" in html
    first = body(partner.get("/bilan/page/1"))
    assert 'value="77567227200017"' in first and 'value="775672272"' in first
    assert 'value="Caf de la Savoie"' in first
    assert partner.get("/bilan/page/9").status_code == 404


def test_navigation_saves_and_moves(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    moved = partner.save_page(2, {"lieu_action": "Salle des fêtes", "code_postal": "73000"}, action="next")
    assert moved.location.endswith("/bilan/page/3")
    back = partner.save_page(3, {"qpv": "oui"}, action="previous")
    assert back.location.endswith("/bilan/page/2")
    jump = partner.save_page(2, {"lieu_action": "Salle des fêtes", "voie": "rue Haute"}, action="goto-7")
    assert jump.location.endswith("/bilan/page/7")
    last = partner.save_page(8, {"formation_coordinateur": "oui"}, action="summary")
    assert last.location.endswith("/bilan/recapitulatif")
    response = stored(db, response_id)
    assert response.answers["lieu_action"] == "Salle des fêtes"
    assert response.answers["voie"] == "rue Haute"
    assert response.answers["qpv"] == "oui"
    assert response.answers["formation_coordinateur"] == "oui"
    assert response.state is ResponseState.IN_PROGRESS
    assert "Salle des fêtes" in body(partner.get("/bilan/page/2"))


def test_a_format_error_is_kept_and_shown_back(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    shown = partner.save_page(1, {"siret": "77567227200018", "email": "pas-une-adresse", "nom_structure": "Les Petits"},
                              action="next")
    assert shown.status_code == 200
    html = body(shown)
    assert html.count("Erreur : ") >= 1 and "<title>Erreur : " in html
    assert 'value="77567227200018"' in html and 'value="pas-une-adresse"' in html
    assert "Le numéro de SIRET doit compter 14 chiffres" in html
    assert 'href="#f-siret"' in html and 'id="f-siret"' in html
    response = stored(db, response_id)
    assert response.invalid["siret"]["value"] == "77567227200018"
    assert "siret" not in response.answers
    assert response.answers["nom_structure"] == "Les Petits"
    # Coming back later shows the same kept value and its message.
    again = body(partner.get("/bilan/page/1"))
    assert 'value="77567227200018"' in again and "Le numéro de SIRET doit compter" in again
    # Correcting it moves it back to the valid answers.
    partner.save_page(1, {"siret": "775 672 272 00017", "email": "a@b.fr", "nom_structure": "Les Petits"})
    response = stored(db, response_id)
    assert response.answers["siret"] == "77567227200017" and "siret" not in response.invalid


def test_siren_must_match_the_siret(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    shown = partner.save_page(1, {"siret": "77567227200017", "siren": "412345670"})
    assert "Le SIREN doit être égal aux 9 premiers chiffres du SIRET." in body(shown)
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Le SIREN doit être égal" in summary
    assert "Transmettre à la Caf</button>" not in summary


def test_follow_up_is_cleared_when_its_choice_is_not_picked(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(1, {"statut_structure": "autre", "statut_structure_autre": "Fondation"})
    assert stored(db, response_id).answers["statut_structure_autre"] == "Fondation"
    partner.save_page(1, {"statut_structure": "public", "statut_structure_autre": "Fondation"})
    answers = stored(db, response_id).answers
    assert answers["statut_structure"] == "public" and "statut_structure_autre" not in answers


def test_required_answers_are_enforced_at_transmission_only(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert partner.save_page(3, {}, action="next").status_code == 302  # empty page accepted
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Étape 3, « Votre action se déroule dans un QPV ? » : Réponse obligatoire" in summary
    assert 'href="/bilan/page/3#f-qpv"' in summary
    assert "Transmettre à la Caf</button>" not in summary
    partner.get("/bilan/page/1")
    refused = partner.client.post("/bilan/transmettre", data={**partner.hidden(), "certifie": "oui"})
    assert refused.status_code == 409
    assert "des réponses manquent" in body(refused)
    assert stored(db, response_id).state is not ResponseState.SUBMITTED


def test_the_whole_journey_to_the_receipt(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    answer_everything(partner)
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "points à compléter" not in summary and "point à compléter" not in summary
    for text in ("Fondation", "Maison de quartier", "6 à 10 ans (primaire)", "Modifier"):
        assert text in summary
    partner.get("/bilan/page/1")
    opened_before = partner.hidden()  # a form opened before transmission
    done = partner.transmit()
    assert done.status_code == 302 and done.location.endswith("/bilan/accuse-de-reception")
    response = stored(db, response_id)
    assert response.state is ResponseState.SUBMITTED
    assert response.submitted_at == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    receipt = body(partner.get("/bilan/accuse-de-reception"))
    assert response.receipt in receipt
    assert "lundi 1er juillet 2024 à 10\u00a0h\u00a000, heure de Paris" in receipt
    # Read-only for the partner afterwards, still readable and printable.
    page = body(partner.get("/bilan/page/1"))
    assert "<form" not in page and "Association Les Petits Savants" in page
    refused = partner.client.post("/bilan/page/1", data={**opened_before, "nom_structure": "Autre nom"})
    assert refused.status_code == 409
    assert stored(db, response_id).answers["nom_structure"] == "Association Les Petits Savants"
    again = partner.client.post("/bilan/transmettre", data={**opened_before, "certifie": "oui"})
    assert again.status_code == 302
    assert stored(db, response_id).receipt == response.receipt
    final = body(partner.get("/bilan/recapitulatif"))
    assert "Modifier" not in final and response.receipt in final


def test_a_stale_page_is_refused_and_shown_back(factory, partner_for, db):
    response_id, (first, second) = factory.project(factory.campaign(), contacts=("a@x.fr", "b@x.fr"))
    alice, bob = partner_for(first), partner_for(second)
    alice.get("/bilan/page/2")
    bob.save_page(2, {"lieu_action": "Version de Bob"})
    refused = alice.save_page(2, {"lieu_action": "Version d'Alice"}, reload=False)
    assert refused.status_code == 409
    html = body(refused)
    assert "modifié ailleurs" in html and "Version d'Alice" in html
    assert stored(db, response_id).answers["lieu_action"] == "Version de Bob"
    # The page shown back carries the new version: saving it again is deliberate.
    kept = alice.save_page(2, {"lieu_action": "Version d'Alice"}, reload=False)
    assert kept.status_code == 302
    assert stored(db, response_id).answers["lieu_action"] == "Version d'Alice"


def test_a_stale_summary_cannot_transmit(factory, partner_for, db):
    response_id, (first, second) = factory.project(factory.campaign(), contacts=("a@x.fr", "b@x.fr"))
    alice, bob = partner_for(first), partner_for(second)
    answer_everything(alice)
    alice.get("/bilan/recapitulatif")
    bob.save_page(2, {**complete_clas_answers()[2], "lieu_action": "Changé par Bob"})
    refused = alice.client.post("/bilan/transmettre", data={**alice.hidden(), "certifie": "oui"})
    assert refused.status_code == 409
    assert "relisez-le" in body(refused)
    assert stored(db, response_id).state is ResponseState.IN_PROGRESS


def test_posts_without_a_valid_csrf_token_are_refused_and_shown_back(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.get("/bilan/page/2")
    data = {**partner.hidden(), "csrf_token": "forged", "lieu_action": "Texte tapé longtemps"}
    refused = partner.client.post("/bilan/page/2", data=data)
    assert refused.status_code == 400
    html = body(refused)
    assert "Votre session a expiré" in html and "Texte tapé longtemps" in html
    assert "lieu_action" not in stored(db, response_id).answers


def test_csrf_tokens_do_not_expire_while_the_session_lives(app):
    # A page left open for hours must still save: no one-hour CSRF limit.
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    assert app.config["PERMANENT_SESSION_LIFETIME"] >= timedelta(days=30)


def test_the_engine_runs_another_questionnaire_unchanged(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign(ATELIER))
    partner = partner_for(token)
    assert "Étape 1 sur 2" in body(partner.get("/bilan/page/1"))
    partner.save_page(1, {"nom": "Camille", "departement": "autre", "departement_autre": "Isère",
                          "commune_insee": "2a004", "cp": "20000"}, action="next")
    partner.save_page(2, {"revenir": "non", "pourquoi_non": "Trop loin", "themes": ["tableur", "demarches"],
                          "notes__accueil": "bien", "notes__contenu": "moyen"}, action="summary")
    response = stored(db, response_id)
    assert response.answers == {
        "nom": "Camille", "departement": "autre", "departement_autre": "Isère", "commune_insee": "2A004",
        "cp": "20000", "revenir": "non", "pourquoi_non": "Trop loin", "themes": ["tableur", "demarches"],
        "notes": {"accueil": "bien", "contenu": "moyen"},
    }
    assert response.definition_version == 3
    # Answering "oui" hides the conditional question: its answer is dropped.
    partner.save_page(2, {"revenir": "oui", "pourquoi_non": "Trop loin", "notes__accueil": "bien", "notes__contenu": "moyen"})
    assert "pourquoi_non" not in stored(db, response_id).answers
    assert partner.transmit().status_code == 302
    assert stored(db, response_id).state is ResponseState.SUBMITTED


def test_a_forged_choice_is_refused_and_not_stored(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    shown = partner.save_page(3, {"qpv": "peut-etre", "tranches_age": ["primaire", "maternelle"]})
    assert "Ce choix n'existe pas" in body(shown)
    answers = stored(db, response_id).answers
    assert "qpv" not in answers and "tranches_age" not in answers
    assert "qpv" not in stored(db, response_id).invalid


def test_one_partner_cannot_reach_another_projects_response(factory, partner_for, db):
    campaign = factory.campaign()
    mine, (token,) = factory.project(campaign)
    theirs, _ = factory.project(campaign)
    partner = partner_for(token)
    partner.save_page(2, {"lieu_action": "Chez moi"})
    assert "lieu_action" not in stored(db, theirs).answers
    assert stored(db, mine).answers["lieu_action"] == "Chez moi"


def test_pages_are_not_cached(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert partner.get("/bilan/page/1").headers["Cache-Control"] == "no-store"


def test_receipt_before_transmission_goes_to_the_summary(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert partner.get("/bilan/accuse-de-reception").location.endswith("/bilan/recapitulatif")


def test_a_missing_item_links_to_its_question_on_its_page(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(4, {"situations_enfants__logement_inadapte": "beaucoup"})
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Ligne sans réponse : Difficultés scolaires" in summary
    anchor = re.search(r'href="(/bilan/page/4#f-situations_enfants)"', summary)
    assert anchor is not None
    page = body(partner.get("/bilan/page/4"))
    assert 'id="f-situations_enfants"' in page


def test_transmitting_asks_to_certify_and_names_who_gets_the_receipt(factory, partner_for, db):
    from tests.conftest import complete_clas_answers
    response_id, tokens = factory.project(factory.campaign(), contacts=("a@one.example", "b@one.example"))
    partner = partner_for(tokens[0])
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Je certifie l’exactitude des informations transmises" in summary
    assert "Une fois transmis, le bilan ne pourra plus être modifié" in summary
    assert "<li>a@one.example</li>" in summary and "<li>b@one.example</li>" in summary
    refused = partner.client.post("/bilan/transmettre", data=partner.hidden())  # the box left unticked
    assert refused.status_code == 400
    page = body(refused)
    assert "<title>Erreur : " in page and 'aria-invalid="true"' in page
    assert "Cochez la case « Je certifie l’exactitude des informations transmises »" in page
    db.expire_all()
    assert db.get(Response, response_id).state is ResponseState.IN_PROGRESS


def test_after_transmission_the_start_page_says_when_and_which_reference(factory, partner_for, db):
    from tests.conftest import complete_clas_answers
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.transmit()
    db.expire_all()
    receipt = db.get(Response, response_id).receipt
    start = body(partner.get("/bilan"))
    assert f"Transmis le lundi 1er juillet 2024 à 10\u00a0h\u00a000, heure de Paris, référence <span class=\"nowrap\">{receipt}</span>." in start
    assert "Transmis, transmis" not in start and "Commencer" not in start and "Reprendre" not in start
    assert "Le questionnaire compte" not in start  # no filling-in instructions any more
    assert "Consulter et imprimer le bilan transmis" in start


def test_resuming_goes_to_the_first_step_that_needs_something_and_steps_say_their_status(factory, partner_for):
    from tests.conftest import complete_clas_answers
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    pages = complete_clas_answers()
    for number in (1, 2, 3):
        partner.save_page(number, pages[number])
    partner.save_page(4, {})
    start = body(partner.get("/bilan"))
    assert 'href="/bilan/page/4">Reprendre le questionnaire' in start.replace("\n", "")
    assert "Identification de la structure</a> – <span class=\"status status-done\">complète</span>" in start
    assert "L’action Clas</a> – <span class=\"status status-todo\">à compléter</span>" in start
    page = body(partner.get("/bilan/page/2"))
    assert "(complète)" in page and "(à compléter)" in page


def test_the_summary_links_the_attached_document(factory, partner_for):
    import io
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    partner.save_page(8, {"bilan_qualitatif": "x" * 60, "document": (io.BytesIO(pdf), "compte-rendu.pdf")})
    summary = body(partner.get("/bilan/recapitulatif"))
    assert '<a href="/bilan/document/document">compte-rendu.pdf</a>' in summary
    assert partner.client.get("/bilan/document/document").data == pdf


def test_fields_declare_their_input_purpose(factory, partner_for):
    """RGAA 11.13: the structure's name, the commune, an email address and a postal code say what they are."""
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    first, second = body(partner.get("/bilan/page/1")), body(partner.get("/bilan/page/2"))
    assert re.search(r'<input[^>]*autocomplete="organization"[^>]*name="nom_structure"', first)
    assert re.search(r'<input[^>]*autocomplete="email"[^>]*name="email"', first)
    assert re.search(r'<input[^>]*autocomplete="address-level2"[^>]*name="commune"', second)
    assert re.search(r'<input[^>]*autocomplete="postal-code"[^>]*name="code_postal"', second)
