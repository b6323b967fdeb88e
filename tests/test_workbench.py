"""The Caf reviewer's workbench: compact history, correction form, private notes, bulk validation, notices."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from survey.models import EmailKind, EventKind, ResponseState, ReviewNote
from tests.conftest import complete_clas_answers
from tests.mail_support import logs
from tests.test_access import readable
from tests.test_review import body, history, stored, transmitted

NOTE = "Appeler la directrice : NOTE-PRIVEE-8731 avant le comité."


def title_of(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


# -- the compact history -------------------------------------------------------------
def test_the_history_is_compact_by_default_and_whole_one_click_away(factory, partner_for, caf_user, clock, db):
    response_id, partner = transmitted(factory, partner_for)
    reviewer = caf_user()
    page = f"/caf/reponses/{response_id}"
    # A reviewer changes one row of a grid and a long free text, after the transmission.
    clock.set(clock() + timedelta(hours=2))
    grid = {**complete_clas_answers()[5]}
    row_field = next(key for key in grid if "__" in key)
    grid[row_field] = "jamais" if grid[row_field] != "jamais" else "souvent"
    reviewer.post(f"{page}/pages/5", {**grid, "reason": "Appel du partenaire"}, from_page=f"{page}/pages/5")
    changed_rows = [e for e in history(db, response_id) if e.kind is EventKind.ANSWER and e.user_id]
    assert changed_rows, "the reviewer's grid change was recorded"
    compact = body(reviewer.get(page))
    journal = compact[compact.index('id="historique"'):]
    # The partner's draft saves are folded into one sitting, with the number of answers.
    assert journal.count("<details><summary>") == 1 and "réponses enregistrées" in journal
    assert "Réponses changées depuis la première transmission" in journal
    assert "Appel du partenaire" in journal
    # A grid shows only its changed row.
    question = changed_rows[0].code
    full_rows = len(stored(db, response_id).answers[question])
    after = journal[journal.index("Après :"):]
    assert after[:after.index("</li>")].count(" : ") < full_rows
    assert "Voir l’historique complet" in journal
    whole = body(reviewer.get(f"{page}?historique=complet"))
    assert "<table class=\"history stacks\">" in whole and "Revenir à l’historique résumé" in whole
    assert '<table class="history stacks">' not in compact


def test_a_long_value_in_the_history_is_shortened_with_voir_tout(factory, partner_for, caf_user, db):
    long_text = "Les familles viennent chaque semaine. " * 20 + "\n\nSecond paragraphe : FIN-DU-TEXTE."
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    answers = complete_clas_answers()
    page_number, code = next((n, c) for n, data in answers.items() for c in data if c == "bilan_qualitatif")
    partner.save_page(page_number, {**answers[page_number], code: long_text})
    page = body(caf_user().get(f"/caf/reponses/{response_id}"))
    journal = page[page.index('id="historique"'):]
    assert "voir tout" in journal and "FIN-DU-TEXTE" in journal  # whole, behind the fold
    assert "<p>Second paragraphe : FIN-DU-TEXTE.</p>" in journal  # paragraphs kept


# -- the correction request ----------------------------------------------------------------
def test_the_correction_form_picks_questions_by_step_with_a_default_delay(factory, partner_for, caf_user, clock, db):
    response_id, _ = transmitted(factory, partner_for)
    page = body(caf_user().get(f"/caf/reponses/{response_id}"))
    form = page[page.index('id="correction"'):page.index("Envoyer la demande de correction")]
    assert form.count('<details class="correction-page">') == 8  # one per step, folded
    today_in_paris = clock().astimezone(ZoneInfo("Europe/Paris")).date()
    assert f'value="{(today_in_paris + timedelta(days=15)).isoformat()}"' in form
    assert "heure de Paris" in form


def test_a_refused_correction_request_says_erreur_in_the_title_and_each_error_beside_its_field(
        factory, partner_for, caf_user, db):
    response_id, _ = transmitted(factory, partner_for)
    reviewer = caf_user()
    url, page = f"/caf/reponses/{response_id}/correction", f"/caf/reponses/{response_id}"
    refused = reviewer.post(url, {"questions": ["qpv", "lieu_action"], "message-qpv": " ",
                                  "message-lieu_action": "Précisez l'adresse.", "until": "2024-06-01"}, from_page=page)
    text = body(refused)
    assert refused.status_code == 409 and title_of(text).startswith("Erreur :")
    assert re.search(r'id="m-qpv-error">Écrivez un message pour la question', text)
    assert 'id="c-until-error">La date limite de correction doit être dans le futur.' in text
    assert "Précisez l'adresse." in text  # what was typed is shown back
    assert 'aria-describedby="m-lieu_action-error"' not in text
    assert stored(db, response_id).state is ResponseState.SUBMITTED


# -- private notes ---------------------------------------------------------------------------
def test_a_private_note_is_dated_signed_and_seen_by_the_caf_only(factory, partner_for, caf_user, clock, db):
    response_id, _ = transmitted(factory, partner_for)
    reviewer = caf_user()
    page = f"/caf/reponses/{response_id}"
    empty = reviewer.post(f"{page}/notes", {"note": "   "}, from_page=page)
    assert empty.status_code == 422 and title_of(body(empty)).startswith("Erreur :")
    assert "Écrivez la note avant de l'enregistrer." in body(empty)
    assert db.scalars(select(ReviewNote)).all() == []
    assert reviewer.post(f"{page}/notes", {"note": NOTE}, from_page=page).status_code == 302
    shown = body(reviewer.get(page))
    assert NOTE in shown and "lundi 1er juillet 2024 à 10\u00a0h\u00a000" in shown and "reviewer-731@caf.example" in shown
    assert NOTE in body(caf_user("admin", None).get(page))
    assert caf_user("reviewer", "741").get(page).status_code == 404


def test_a_private_note_never_reaches_the_partner(app, smtp, factory, partner_for, caf_user, clock, db):
    campaign = factory.campaign()
    response_id, partner = transmitted(factory, partner_for, campaign)
    reviewer = caf_user()
    page = f"/caf/reponses/{response_id}"
    reviewer.post(f"{page}/notes", {"note": NOTE}, from_page=page)
    # Every email the partner can get: a correction notice, a second receipt, the validation.
    reviewer.post(f"{page}/correction", {"questions": ["lieu_action"], "message-lieu_action": "Précisez.",
                                         "until": "2024-07-31"}, from_page=page)
    partner.save_page(2, {**complete_clas_answers()[2], "lieu_action": "Salle B"})
    assert partner.transmit().status_code == 302
    assert reviewer.post(f"{page}/validation", from_page=page).status_code == 302
    app.extensions["outbox"].drain(20)
    assert {m["Subject"].rsplit("–", 1)[-1].strip()[:20] for m in smtp.messages} >= {"votre bilan est vali"}
    secret = NOTE.encode()
    for message in smtp.messages:
        assert secret not in message.as_bytes() and NOTE not in message.get_body(("plain",)).get_content()
    partner_pages = ["/bilan", "/bilan/recapitulatif", "/bilan/accuse-de-reception", "/bilan/bilan.pdf"]
    partner_pages += [f"/bilan/page/{number}" for number in range(1, 9)]
    for url in partner_pages:
        answer = partner.client.get(url)
        assert answer.status_code == 200, url
        assert secret not in readable(answer.data), url
    for url in (f"/caf/campagnes/{campaign}/export.csv", f"/caf/campagnes/{campaign}/export.xlsx",
                f"/caf/campagnes/{campaign}/dictionnaire.csv", f"{page}/bilan.pdf"):
        answer = reviewer.get(url)
        assert answer.status_code == 200 and secret not in readable(answer.data), url


# -- decisions: bulk validation and the partner's notices --------------------------------------
def test_bulk_validation_confirms_then_validates_each_as_if_one_by_one(app, factory, partner_for, caf_user, db):
    campaign = factory.campaign()
    first, _ = transmitted(factory, partner_for, campaign, reference="SAV-001")
    second, _ = transmitted(factory, partner_for, campaign, reference="SAV-002")
    untouched, _ = transmitted(factory, partner_for, campaign, reference="SAV-003")
    in_progress, _ = factory.project(campaign, reference="SAV-004")
    reviewer = caf_user()
    listing = f"/caf/campagnes/{campaign}"
    page = body(reviewer.get(listing))
    assert page.count('name="ids"') == 3  # transmitted ones only
    versions = {f"version-{i}": re.search(rf'name="version-{i}" value="(\d+)"', page).group(1) for i in (first, second)}
    confirm = reviewer.post(f"{listing}/validation", {"ids": [first, second, in_progress], **versions})
    assert confirm.status_code == 200 and "Confirmer la validation de 2 bilans" in body(confirm)
    assert stored(db, first).state is ResponseState.SUBMITTED  # nothing validated before the confirmation
    done = reviewer.post(f"{listing}/validation", {"ids": [first, second], **versions, "confirmer": "1"},
                         from_page=None)
    assert done.status_code == 302
    for response_id in (first, second):
        assert stored(db, response_id).state is ResponseState.VALIDATED
        events = [e for e in history(db, response_id) if e.kind is EventKind.VALIDATED]
        assert len(events) == 1 and events[0].user_id is not None
        assert [log.kind for log in logs(db, response_id=response_id, kind=EmailKind.VALIDATED)] == [EmailKind.VALIDATED]
    assert stored(db, untouched).state is ResponseState.SUBMITTED
    assert "2 bilans validés" in body(reviewer.get(listing))


def test_bulk_validation_of_all_transmitted_on_the_page_leaves_changed_and_foreign_ones(factory, partner_for,
                                                                                         caf_user, db):
    campaign = factory.campaign()
    first, _ = transmitted(factory, partner_for, campaign, reference="SAV-001")
    foreign, _ = transmitted(factory, partner_for, campaign, reference="HSA-001", caf_number="741",
                             caf_name="Caf de la Haute-Savoie")
    reviewer = caf_user()
    listing = f"/caf/campagnes/{campaign}"
    done = reviewer.post(f"{listing}/validation", {"tous": "1", "page_ids": [first, foreign],
                                                    f"version-{first}": "0", f"version-{foreign}": "1",
                                                    "confirmer": "1"}, from_page=listing)
    assert done.status_code == 302
    assert stored(db, first).state is ResponseState.SUBMITTED  # changed since the list was shown
    assert stored(db, foreign).state is ResponseState.SUBMITTED  # not this reviewer's
    assert "SAV-001 n'est pas validé : il a été modifié depuis l'affichage de la liste" in body(reviewer.get(listing))


def test_the_partner_is_told_of_a_validation_and_of_a_reopening(app, smtp, factory, partner_for, caf_user, db):
    response_id, _ = transmitted(factory, partner_for, factory.campaign())
    page = f"/caf/reponses/{response_id}"
    assert caf_user().post(f"{page}/validation", from_page=page).status_code == 302
    admin = caf_user("admin", None)
    assert admin.post(f"{page}/reouverture", {"reason": "Erreur de saisie"}, from_page=page).status_code == 302
    app.extensions["outbox"].drain(20)
    by_kind = {log.kind: log for log in logs(db, response_id=response_id)}
    assert by_kind[EmailKind.VALIDATED].status.value == "sent" and by_kind[EmailKind.REOPENED].status.value == "sent"
    subjects = [m["Subject"] for m in smtp.messages]
    assert "Clas 2023-2024 : bilan qualitatif – votre bilan est validé par la Caf" in subjects
    assert "Clas 2023-2024 : bilan qualitatif – votre bilan est rouvert" in subjects
    validated = next(m for m in smtp.messages if m["Subject"].endswith("validé par la Caf"))
    text = " ".join(validated.get_body(("plain",)).get_content().split())
    assert "a relu et validé le bilan qualitatif Clas" in text and stored(db, response_id).receipt in text
    assert "Erreur de saisie" not in "".join(m.as_string() for m in smtp.messages)  # the admin's reason stays inside


def test_the_bulk_confirmation_reads_as_many_statements_for_many_bilans_as_for_few(factory, partner_for, caf_user):
    from tests.test_reading import count_statements_of_post
    campaign = factory.campaign()
    ids = [transmitted(factory, partner_for, campaign, reference=f"SAV-00{n}")[0] for n in range(1, 6)]
    reviewer = caf_user()
    reviewer.get(f"/caf/campagnes/{campaign}")
    few = count_statements_of_post(reviewer, f"/caf/campagnes/{campaign}/validation", {"ids": ids[:1]})
    many = count_statements_of_post(reviewer, f"/caf/campagnes/{campaign}/validation", {"ids": ids})
    assert many == few


def test_the_export_says_who_validated_and_how_many_corrections_were_asked(factory, partner_for, caf_user, db):
    import csv
    import io
    campaign = factory.campaign()
    response_id, partner = transmitted(factory, partner_for, campaign, reference="SAV-001")
    transmitted(factory, partner_for, campaign, reference="SAV-002")
    reviewer = caf_user()
    page = f"/caf/reponses/{response_id}"
    reviewer.post(f"{page}/correction", {"questions": ["lieu_action"], "message-lieu_action": "Précisez.",
                                         "until": "2024-07-31"}, from_page=page)
    partner.get("/bilan/page/2")
    assert partner.transmit().status_code == 302
    assert reviewer.post(f"{page}/validation", from_page=page).status_code == 302
    exported = reviewer.get(f"/caf/campagnes/{campaign}/export.csv?entetes=codes").get_data(as_text=True).lstrip("\ufeff")
    rows = {row["reference"]: row for row in csv.DictReader(io.StringIO(exported), delimiter=";")}
    assert rows["SAV-001"]["valide_par"] == "reviewer-731@caf.example"
    assert rows["SAV-001"]["demandes_correction"] == "1" and rows["SAV-002"]["demandes_correction"] == "0"
    assert rows["SAV-002"]["valide_par"] == ""
