"""The Caf reviewer's journey: list, read, correct with history, ask for corrections, validate."""
import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.models import CorrectionRequest, EmailKind, EmailLog, EventKind, Response, ResponseEvent, ResponseState
from tests.conftest import CLAS_CLOSES, complete_clas_answers

UTC = UTC


def body(response):
    return html.unescape(response.get_data(as_text=True))


def stored(db, response_id) -> Response:
    db.expire_all()
    return db.get(Response, response_id)


def history(db, response_id):
    db.expire_all()
    return db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response_id).order_by(ResponseEvent.id)).all()


def transmitted(factory, partner_for, campaign=None, **project):
    """A project whose partner answered everything and transmitted; returns (response_id, partner)."""
    response_id, (token,) = factory.project(campaign or factory.campaign(), **project)
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    return response_id, partner


def test_the_list_shows_only_the_reviewers_caf_with_counts_filters_and_sorting(factory, partner_for, caf_user):
    campaign = factory.campaign()
    transmitted(factory, partner_for, campaign, reference="SAV-001")
    factory.project(campaign, reference="SAV-002")
    factory.project(campaign, reference="HSA-001", caf_number="741", caf_name="Caf de la Haute-Savoie")
    reviewer = caf_user("reviewer", "731")
    page = body(reviewer.get(f"/caf/campagnes/{campaign}"))
    assert "SAV-001" in page and "SAV-002" in page and "HSA-001" not in page
    assert "Transmis : <strong>1</strong>" in page and "Non commencé : <strong>1</strong>" in page
    filtered = body(reviewer.get(f"/caf/campagnes/{campaign}?etat=submitted"))
    assert "SAV-001" in filtered and "SAV-002" not in filtered
    searched = body(reviewer.get(f"/caf/campagnes/{campaign}?q=sav-002"))
    assert "SAV-002" in searched and "SAV-001" not in searched
    by_siret = body(reviewer.get(f"/caf/campagnes/{campaign}?q=775672"))
    assert "SAV-001" in by_siret
    descending = body(reviewer.get(f"/caf/campagnes/{campaign}?tri=-reference"))
    assert descending.index("SAV-002") < descending.index("SAV-001")
    admin = caf_user("admin", None)
    everything = body(admin.get(f"/caf/campagnes/{campaign}"))
    assert "HSA-001" in everything and "SAV-001" in everything


def test_the_list_is_paginated(factory, caf_user):
    campaign = factory.campaign()
    for number in range(53):
        factory.project(campaign, reference=f"P-{number:03d}")
    reviewer = caf_user()
    first = body(reviewer.get(f"/caf/campagnes/{campaign}"))
    assert "P-000" in first and "P-049" in first and "P-050" not in first and "page 1 sur 2" in first
    second = body(reviewer.get(f"/caf/campagnes/{campaign}?page=2"))
    assert "P-050" in second and "P-052" in second and "P-000" not in second


def test_a_reviewer_correction_is_kept_in_a_history_the_partner_sees(factory, partner_for, caf_user, db):
    response_id, partner = transmitted(factory, partner_for)
    reviewer = caf_user()
    page = reviewer.get(f"/caf/reponses/{response_id}/pages/2")
    assert page.status_code == 200 and 'value="Maison de quartier"' in page.get_data(as_text=True)
    data = {**complete_clas_answers()[2], "lieu_action": "Gymnase municipal", "reason": "Lieu confirmé par téléphone"}
    saved = reviewer.post(f"/caf/reponses/{response_id}/pages/2", data)
    assert saved.status_code == 302
    response = stored(db, response_id)
    assert response.answers["lieu_action"] == "Gymnase municipal"
    assert response.state is ResponseState.SUBMITTED
    change = [e for e in history(db, response_id) if e.code == "lieu_action" and e.user_id][-1]
    assert (change.old_value, change.new_value, change.reason) == ("Maison de quartier", "Gymnase municipal",
                                                                     "Lieu confirmé par téléphone")
    # The partner's original answer stays in the history...
    partner_lines = [e for e in history(db, response_id) if e.code == "lieu_action" and e.contact_id]
    assert partner_lines[0].new_value == "Maison de quartier"
    # ...and the partner sees what the Caf changed, from what, to what.
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Modifié par la Caf le" in summary
    assert "« Maison de quartier » remplacé par « Gymnase municipal »" in summary
    shown = body(reviewer.get(f"/caf/reponses/{response_id}"))
    assert "Gymnase municipal" in shown and "Lieu confirmé par téléphone" in shown and "reviewer-731@caf.example" in shown


def test_a_reviewer_correction_with_an_error_stores_nothing(factory, partner_for, caf_user, db):
    response_id, _ = transmitted(factory, partner_for)
    reviewer = caf_user()
    reviewer.get(f"/caf/reponses/{response_id}/pages/1")
    refused = reviewer.post(f"/caf/reponses/{response_id}/pages/1", {**complete_clas_answers()[1], "siret": "12345678901234"})
    assert refused.status_code == 422
    text = body(refused)
    assert "Le numéro de SIRET doit compter" in text and 'value="12345678901234"' in text
    assert stored(db, response_id).answers["siret"] == "77567227200017"
    assert "siret" not in stored(db, response_id).invalid


def test_a_partner_edit_is_recorded_in_the_history(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(2, {"lieu_action": "Avant"})
    partner.save_page(2, {"lieu_action": "Après"})
    lines = [e for e in history(db, response_id) if e.code == "lieu_action"]
    assert [(e.old_value, e.new_value) for e in lines] == [(None, "Avant"), ("Avant", "Après")]
    assert all(e.contact_id and e.user_id is None for e in lines)


def test_the_history_is_append_only(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner_for(token).save_page(2, {"lieu_action": "Avant"})
    event = history(db, response_id)[0]
    event.new_value = "falsifié"
    try:
        db.commit()
    except RuntimeError as exc:
        assert "append-only" in str(exc)
    else:
        raise AssertionError("an event was updated")
    finally:
        db.rollback()


def test_a_correction_round(factory, partner_for, caf_user, clock, db):
    response_id, partner = transmitted(factory, partner_for)
    first_reference = stored(db, response_id).receipt
    reviewer = caf_user()
    clock.set(CLAS_CLOSES + timedelta(days=2))  # after the campaign's deadline
    asked = reviewer.post(f"/caf/reponses/{response_id}/correction", {
        "questions": ["lieu_action", "bilan_qualitatif"],
        "message-lieu_action": "Précisez l'adresse exacte du lieu.",
        "message-bilan_qualitatif": "Ajoutez le nombre de familles accompagnées.",
        "until": "2024-07-31",
    }, from_page=f"/caf/reponses/{response_id}")
    assert asked.status_code == 302, body(asked)
    response = stored(db, response_id)
    assert response.state is ResponseState.CORRECTION_REQUESTED
    request = db.scalars(select(CorrectionRequest).where(CorrectionRequest.response_id == response_id)).one()
    assert request.until == datetime(2024, 7, 31, 21, 59, 59, tzinfo=UTC)
    # The partner's pages highlight exactly those questions, with the message.
    page = body(partner.get("/bilan/page/2"))
    assert "Correction demandée par la Caf :</strong> Précisez l'adresse exacte du lieu." in page
    assert page.count("Correction demandée par la Caf") == 1
    # The Caf's message is tied to its field, for screen readers too.
    field = re.search(r'<input[^>]*name="lieu_action"[^>]*>', page).group(0)
    assert re.search(r'aria-describedby="[^"]*correction-lieu_action', field)
    assert 'id="correction-lieu_action"' in page
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "La Caf vous demande de corriger votre bilan" in summary and "Ajoutez le nombre de familles" in summary
    # They may edit after the campaign's deadline, and transmit again.
    assert partner.save_page(2, {**complete_clas_answers()[2], "lieu_action": "12 rue de la Gare, salle B"}).status_code == 302
    partner.get("/bilan/page/2")
    opened = partner.hidden()
    assert partner.transmit().status_code == 302
    response = stored(db, response_id)
    assert response.state is ResponseState.SUBMITTED
    assert response.receipt == first_reference  # one reference for the bilan, across transmissions
    assert response.receipt_round == f"{first_reference}/2"  # its second receipt is an occasion of its own
    rounds = db.scalars(select(EmailLog.round).where(EmailLog.kind == EmailKind.RECEIPT, EmailLog.response_id == response_id))
    assert set(rounds) == {first_reference, f"{first_reference}/2"}
    db.expire_all()
    assert db.get(CorrectionRequest, request.id).closed_at is not None
    # Once transmitted again, the partner can no longer edit.
    late = partner.client.post("/bilan/page/2", data={**opened, "lieu_action": "encore"})
    assert late.status_code == 409 and stored(db, response_id).answers["lieu_action"] == "12 rue de la Gare, salle B"
    kinds = [e.kind for e in history(db, response_id)]
    assert kinds.count(EventKind.SUBMITTED) == 2 and EventKind.CORRECTION_REQUESTED in kinds


def ask_to_correct_the_place(reviewer, response_id, until):
    return reviewer.post(f"/caf/reponses/{response_id}/correction", {
        "questions": ["lieu_action"], "message-lieu_action": "Précisez.", "until": until,
    }, from_page=f"/caf/reponses/{response_id}")


def test_the_correction_delay_ends(factory, partner_for, caf_user, clock, db):
    response_id, partner = transmitted(factory, partner_for)
    reviewer = caf_user()
    ask_to_correct_the_place(reviewer, response_id, until="2024-07-05")
    partner.get("/bilan/page/2")
    clock.set(datetime(2024, 7, 5, 22, 0, tzinfo=UTC))  # 6 July 00:00 in Paris
    refused = partner.save_page(2, {"lieu_action": "Trop tard"}, reload=False)
    assert refused.status_code == 409 and "Le délai de correction accordé par la Caf a pris fin" in body(refused)
    assert stored(db, response_id).answers["lieu_action"] == "Maison de quartier"


def test_an_extension_during_a_correction_lengthens_the_correction_delay(factory, partner_for, caf_user, clock, db):
    response_id, partner = transmitted(factory, partner_for)
    reviewer = caf_user()
    ask_to_correct_the_place(reviewer, response_id, until="2024-07-05")
    clock.set(datetime(2024, 7, 8, 8, 0, tzinfo=UTC))  # the correction delay is over
    page = f"/caf/reponses/{response_id}"
    past = reviewer.post(f"{page}/delai", {"until": "2024-07-07", "reason": "Congés"}, from_page=page)
    assert past.status_code == 409
    assert "Le nouveau délai de correction doit être postérieur au délai actuel et à maintenant." in body(past)
    other = caf_user(email="autre@caf.example")
    other.get(page)  # a second reviewer opens the page before the extension

    extended = reviewer.post(f"{page}/delai", {"until": "2024-07-12", "reason": "Congés"}, from_page=page)

    assert extended.status_code == 302
    response = stored(db, response_id)
    assert response.open_correction.until == datetime(2024, 7, 12, 21, 59, 59, tzinfo=UTC)
    assert response.extended_until is None
    (event,) = [e for e in history(db, response_id) if e.kind.value == "extended"]
    assert [datetime.fromisoformat(value) for value in (event.old_value, event.new_value)] == [
        datetime(2024, 7, 5, 21, 59, 59, tzinfo=UTC), datetime(2024, 7, 12, 21, 59, 59, tzinfo=UTC)]
    assert event.reason == "Délai de correction : Congés"
    stale = other.post(f"{page}/delai", {"until": "2024-07-20", "reason": "Encore"})  # the form of before
    assert stale.status_code == 409 and "modifié entre-temps" in body(stale)
    assert partner.save_page(2, {"lieu_action": "Salle B"}).status_code == 302


def test_a_correction_request_needs_questions_messages_and_a_future_date(factory, partner_for, caf_user, db):
    response_id, _ = transmitted(factory, partner_for)
    reviewer = caf_user()
    url, page = f"/caf/reponses/{response_id}/correction", f"/caf/reponses/{response_id}"
    for data, message in (
        ({"until": "2024-07-31"}, "Choisissez au moins une question"),
        ({"questions": ["qpv"], "message-qpv": " ", "until": "2024-07-31"}, "Écrivez un message"),
        ({"questions": ["qpv"], "message-qpv": "Vérifiez", "until": "2024-06-01"}, "doit être dans le futur"),
        ({"questions": ["qpv"], "message-qpv": "Vérifiez", "until": "31/07/2024"}, "Indiquez une date valide"),
    ):
        refused = reviewer.post(url, data, from_page=page)
        assert refused.status_code == 409 and message in body(refused)
    assert stored(db, response_id).state is ResponseState.SUBMITTED


def test_validation_locks_the_response_for_everyone(factory, partner_for, caf_user, db):
    response_id, partner = transmitted(factory, partner_for)
    reviewer = caf_user()
    assert reviewer.post(f"/caf/reponses/{response_id}/validation", from_page=f"/caf/reponses/{response_id}").status_code == 302
    response = stored(db, response_id)
    assert response.state is ResponseState.VALIDATED and response.validated_at is not None
    assert reviewer.get(f"/caf/reponses/{response_id}/pages/2").status_code == 409
    blocked = reviewer.client.post(f"/caf/reponses/{response_id}/pages/2",
                                   data={"csrf_token": reviewer.csrf(), "version": str(response.version), "lieu_action": "x"})
    assert blocked.status_code == 409
    assert "validé par la Caf" in body(partner.get("/bilan/recapitulatif"))
    assert stored(db, response_id).answers["lieu_action"] == "Maison de quartier"
    # A reviewer cannot reopen; an administrator can, with a reason.
    assert reviewer.post(f"/caf/reponses/{response_id}/reouverture", {"reason": "x"}).status_code == 404
    admin = caf_user("admin", None)
    no_reason = admin.post(f"/caf/reponses/{response_id}/reouverture", {"reason": ""}, from_page=f"/caf/reponses/{response_id}")
    assert no_reason.status_code == 409 and "Indiquez la raison" in body(no_reason)
    reopened = admin.post(f"/caf/reponses/{response_id}/reouverture", {"reason": "Erreur de validation"},
                          from_page=f"/caf/reponses/{response_id}")
    assert reopened.status_code == 302
    assert stored(db, response_id).state is ResponseState.SUBMITTED
    event = history(db, response_id)[-1]
    assert event.kind is EventKind.REOPENED and event.reason == "Erreur de validation"


def test_an_incomplete_response_cannot_be_validated(factory, partner_for, caf_user, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner_for(token).save_page(2, {"lieu_action": "Début"})
    reviewer = caf_user()
    refused = reviewer.post(f"/caf/reponses/{response_id}/validation", from_page=f"/caf/reponses/{response_id}")
    assert refused.status_code == 409 and "ne peut pas être validé" in body(refused)
    assert stored(db, response_id).state is ResponseState.IN_PROGRESS


def test_a_correction_cannot_be_asked_on_a_response_not_transmitted(factory, partner_for, caf_user, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner_for(token).save_page(2, {"lieu_action": "Début"})
    reviewer = caf_user()
    refused = reviewer.post(f"/caf/reponses/{response_id}/correction",
                            {"questions": ["qpv"], "message-qpv": "Vérifiez", "until": "2024-07-31"},
                            from_page=f"/caf/reponses/{response_id}")
    assert refused.status_code == 409 and "ne peut être demandée que sur un bilan transmis" in body(refused)


def test_an_extension_gives_one_project_more_time(factory, partner_for, caf_user, clock, db):
    campaign = factory.campaign()
    late_id, (late_token,) = factory.project(campaign)
    other_id, (other_token,) = factory.project(campaign)
    reviewer = caf_user()
    granted = reviewer.post(f"/caf/reponses/{late_id}/delai", {"until": "2024-07-22", "reason": "Coordinateur malade"},
                            from_page=f"/caf/reponses/{late_id}")
    assert granted.status_code == 302
    late, other = partner_for(late_token), partner_for(other_token)
    clock.set(CLAS_CLOSES + timedelta(days=3))
    assert late.save_page(2, {"lieu_action": "Avec délai"}).status_code == 302
    other.get("/bilan/page/2")
    assert "Questionnaire fermé" in body(other.get("/bilan/page/2"))
    assert "lundi 22 juillet 2024 à 23\u00a0h\u00a059" in body(late.get("/bilan"))
    event = history(db, late_id)[0]
    assert event.kind is EventKind.EXTENDED and event.reason == "Coordinateur malade"
    no_reason = reviewer.post(f"/caf/reponses/{late_id}/delai", {"until": "2024-07-25", "reason": ""},
                              from_page=f"/caf/reponses/{late_id}")
    assert no_reason.status_code == 409


def test_a_stale_reviewer_edit_is_refused_and_shown_back(factory, partner_for, caf_user, db):
    response_id, _ = transmitted(factory, partner_for)
    first, second = caf_user(), caf_user(email="collegue@caf.example", sign_in=True)
    first.get(f"/caf/reponses/{response_id}/pages/2")
    second.post(f"/caf/reponses/{response_id}/pages/2", {**complete_clas_answers()[2], "lieu_action": "Par la collègue"},
                from_page=f"/caf/reponses/{response_id}/pages/2")
    refused = first.post(f"/caf/reponses/{response_id}/pages/2", {**complete_clas_answers()[2], "lieu_action": "Par moi"})
    assert refused.status_code == 409
    assert "modifié ailleurs" in body(refused) and 'value="Par moi"' in refused.get_data(as_text=True)
    assert stored(db, response_id).answers["lieu_action"] == "Par la collègue"


def test_a_reviewer_and_a_partner_editing_at_once(factory, partner_for, caf_user, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(2, {"lieu_action": "Partenaire 1"})
    reviewer = caf_user()
    reviewer.get(f"/caf/reponses/{response_id}/pages/2")
    partner.save_page(2, {"lieu_action": "Partenaire 2"})
    refused = reviewer.post(f"/caf/reponses/{response_id}/pages/2", {"lieu_action": "Caf"})
    assert refused.status_code == 409
    assert stored(db, response_id).answers["lieu_action"] == "Partenaire 2"


def test_the_reviewer_downloads_the_attachment(factory, partner_for, caf_user):
    import io
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(8, {"document": (io.BytesIO(b"%PDF-1.4 bilan"), "bilan.pdf")})
    reviewer = caf_user()
    assert "bilan.pdf" in body(reviewer.get(f"/caf/reponses/{response_id}"))
    download = reviewer.client.get(f"/caf/reponses/{response_id}/documents/document")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 bilan"
    assert download.headers["Content-Disposition"].startswith("attachment")
