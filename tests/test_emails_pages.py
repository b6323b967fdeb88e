"""The Caf's emails pages: a preview of the messages as they will leave, eligible projects only, one reminder a
day per project, sending in the background with its progress, failures listed and sent again."""
import html
import re
from datetime import datetime

import pytest
from sqlalchemy import event, select

from survey.mail import caf_rounds
from survey.models import EmailKind, EmailStatus, Response, User
from tests.mail_support import UTC, logs, set_state

pytestmark = pytest.mark.usefixtures("smtp")


def page(answer) -> str:
    """The page's text, tags left out, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True))).split())


@pytest.fixture
def held(app, monkeypatch):
    """The outbox, woken but not sending until the test lets it (``held.release()``): what a request did is seen alone."""
    outbox = app.extensions["outbox"]
    real_wake = outbox.wake

    class Held:
        wakes = 0

        def release(self):
            real_wake()
            assert outbox.drain(20)

    held = Held()

    def wake():
        held.wakes += 1
    monkeypatch.setattr(outbox, "wake", wake)
    return held


def urls(campaign):
    base = f"/caf/campagnes/{campaign}/courriels"
    return base, f"{base}/apercu", f"{base}/envoi", f"{base}/echecs"


def test_the_preview_shows_each_message_as_it_will_leave_and_sends_nothing(factory, caf_user, smtp, db):
    campaign = factory.campaign()
    factory.project(campaign, contacts=("savoie@asso.example",), reference="P-731")
    factory.project(campaign, contacts=("haute-savoie@asso.example",), caf_number="741", caf_name="Caf 741")
    reviewer = caf_user("reviewer", "731")
    form, preview, _, _ = urls(campaign)
    shown = page(reviewer.get(f"{preview}?envoi=invitation&caf=741"))  # a reviewer's Caf is always their own
    assert "1 message partirait maintenant" in shown
    assert "savoie@asso.example – P-731" in shown and "haute-savoie" not in shown
    assert "Objet Clas 2023-2024 : bilan qualitatif – votre lien personnel" in shown
    assert "Votre lien personnel : [lien personnel de ce contact, créé au moment de l’envoi]" in shown
    assert "Bonjour," in shown and smtp.messages == [] and logs(db) == []
    reminder = page(reviewer.get(f"{preview}?envoi=relance&jours=14"))
    assert "rappel : bilan à transmettre avant le lundi 15 juillet 2024" in reminder
    assert "n’est pas encore commencé" in reminder
    for days in ("-3", "²", "366", "", "1e3"):
        refused = reviewer.get(f"{preview}?envoi=relance&jours={days}")
        assert refused.status_code == 400 and "Indiquez le nombre de jours" in page(refused), days
    unknown = reviewer.get(f"{preview}?envoi=tout")
    assert unknown.status_code == 400 and "Choisissez une invitation ou une relance." in page(unknown)
    assert reviewer.get(form).status_code == 200 and logs(db) == []


def test_a_large_round_composes_only_the_messages_shown(app, factory, caf_user, monkeypatch):
    """The national preview's statements and composed messages do not grow with the projects."""
    from survey.mail import messages
    campaign = factory.campaign()
    admin = caf_user("admin", None)
    composed = []
    real_compose = messages.compose
    monkeypatch.setattr(messages, "compose", lambda *args, **kw: composed.append(1) or real_compose(*args, **kw))
    monkeypatch.setattr(caf_rounds, "SHOWN", 4)
    statements = []
    engine = app.extensions["db_engine"]

    def count(*_args):
        statements.append(1)

    def measure():
        composed.clear()
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            answer = page(admin.get(f"/caf/campagnes/{campaign}/courriels/apercu?envoi=relance&jours=7"))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return answer, len(statements), len(composed)

    for number in range(6):
        factory.project(campaign, caf_number=("731", "974")[number % 2], timezone=("Europe/Paris", "Indian/Reunion")[number % 2])
    small, small_statements, small_composed = measure()
    for number in range(30):
        factory.project(campaign, caf_number=("731", "974", "972")[number % 3])
    large, large_statements, large_composed = measure()
    assert "6 messages partiraient" in small and "36 messages partiraient" in large
    assert "… et 32 autres messages" in large
    assert small_composed == large_composed == 4
    assert large_statements == small_statements


def test_only_eligible_projects_are_offered(app, factory, caf_user, db, clock, held):
    campaign = factory.campaign()
    waiting, _ = factory.project(campaign, contacts=("attend@asso.example",), reference="P-1")
    sent, _ = factory.project(campaign, contacts=("transmis@asso.example",), reference="P-2")
    validated, _ = factory.project(campaign, contacts=("valide@asso.example",), reference="P-3")
    extended, _ = factory.project(campaign, contacts=("prolonge@asso.example",), reference="P-4")
    reviewer = caf_user("reviewer", "731")
    for response_id in (sent, validated):
        set_state(db, response_id, "submitted", clock.now)
    db.get(Response, validated).validate(clock.now, db.scalar(select(User.id)))
    db.get(Response, extended).extended_until = datetime(2024, 7, 25, 21, 59, 59, tzinfo=UTC)
    db.commit()
    form, preview, _, _ = urls(campaign)
    invitations = page(reviewer.get(f"{preview}?envoi=invitation"))
    assert "2 messages partiraient" in invitations
    assert "attend@" in invitations and "prolonge@" in invitations
    assert "transmis@" not in invitations and "valide@" not in invitations
    assert reviewer.post(form, {"envoi": "invitation"}, from_page=form).status_code == 303
    assert sorted(log.contact.email for log in logs(db)) == ["attend@asso.example", "prolonge@asso.example"]
    # Transmitted after the planning, before its invitation left: the invitation does not leave.
    set_state(db, waiting, "submitted", clock.now)
    held.release()
    assert {log.contact.email: log.status for log in logs(db)} == {
        "attend@asso.example": EmailStatus.SKIPPED, "prolonge@asso.example": EmailStatus.SENT}
    clock.now = datetime(2024, 7, 20, 8, 0, tzinfo=UTC)  # past the closing: only the extended project may answer
    reminders = page(reviewer.get(f"{preview}?envoi=relance&jours=2"))
    assert "1 message partirait" in reminders and "prolonge@" in reminders and "attend@" not in reminders


def test_at_most_one_reminder_a_day_per_project_in_the_cafs_time_zone(factory, caf_user, db, clock, held):
    campaign = factory.campaign()
    factory.project(campaign, contacts=("savoie@asso.example",), reference="P-SAV")
    factory.project(campaign, contacts=("reunion@asso.example",), reference="P-REU", caf_number="974",
                    caf_name="Caf de La Réunion", timezone="Indian/Reunion")
    admin = caf_user("admin", None)
    form, preview, _, _ = urls(campaign)
    clock.now = datetime(2024, 7, 1, 19, 30, tzinfo=UTC)  # 21 h 30 in Savoie, 23 h 30 at La Réunion
    assert admin.post(form, {"envoi": "relance", "jours": "14"}, from_page=form).status_code == 303
    assert len(logs(db, kind=EmailKind.REMINDER)) == 2
    # Another round, the same day: refused for both, said so, nothing planned.
    again = admin.post(form, {"envoi": "relance", "jours": "7"}, from_page=form)
    assert again.status_code == 409
    assert "2 projets ont déjà été relancés aujourd’hui et ne le seront pas une seconde fois" in page(again)
    listed = page(admin.get(f"{preview}?envoi=relance&jours=7"))
    assert "P-REU : déjà relancé aujourd’hui" in listed and "P-SAV : déjà relancé aujourd’hui" in listed
    assert "0 message partirait" in listed and len(logs(db, kind=EmailKind.REMINDER)) == 2
    # One hour later it is already tomorrow at La Réunion, still today in Savoie.
    clock.now = datetime(2024, 7, 1, 20, 30, tzinfo=UTC)
    later = admin.post(form, {"envoi": "relance", "jours": "7"}, from_page=form, follow_redirects=True)
    assert "Le projet P-SAV a déjà été relancé aujourd’hui : il ne le sera pas une seconde fois avant demain." in page(later)
    assert sorted((log.round, log.contact.email) for log in logs(db, kind=EmailKind.REMINDER)) == [
        ("J-14", "reunion@asso.example"), ("J-14", "savoie@asso.example"), ("J-7", "reunion@asso.example")]
    # A reviewer of the Caf is held to the same day, whatever the round's label.
    reviewer = caf_user("reviewer", "731")
    refused = reviewer.post(form, {"envoi": "relance", "jours": "3"}, from_page=form)
    assert refused.status_code == 409 and "Le projet P-SAV a déjà été relancé aujourd’hui" in page(refused)
    clock.now = datetime(2024, 7, 1, 22, 0, tzinfo=UTC)  # midnight in Savoie
    assert reviewer.post(form, {"envoi": "relance", "jours": "3"}, from_page=form).status_code == 303
    assert len(logs(db, kind=EmailKind.REMINDER)) == 4


def test_sending_runs_in_the_background_with_a_progress_page(factory, caf_user, smtp, db, held):
    campaign = factory.campaign()
    for number in range(3):
        factory.project(campaign, contacts=(f"contact{number}@asso.example",))
    reviewer = caf_user("reviewer", "731")
    form, _, progress, _ = urls(campaign)
    launched = reviewer.post(form, {"envoi": "invitation"}, from_page=form)
    assert launched.status_code == 303 and launched.location.startswith(progress + "?envoi=invitation")
    # Planned, committed and handed to the outbox: nothing left within the request.
    assert held.wakes == 1 and smtp.messages == []
    assert [log.status for log in logs(db)] == [EmailStatus.PENDING] * 3
    waiting = reviewer.get(launched.location)
    assert '<div id="progress" data-refresh="3">' in waiting.get_data(as_text=True)  # progress.js reads it again
    assert "En attente 3 Envoyés 0 Échecs 0" in page(waiting) and "3 messages à envoyer" in page(waiting)
    assert "Envoi en cours (3 messages en attente)." in page(waiting) and "Mettre à jour" in page(waiting)
    held.release()
    done = reviewer.get(launched.location)
    assert "data-refresh" not in done.get_data(as_text=True) and "Mettre à jour" not in page(done)
    assert "L’envoi est terminé." in page(done) and "En attente 0 Envoyés 3 Échecs 0" in page(done)
    assert len(smtp.messages) == 3
    again = reviewer.post(form, {"envoi": "invitation"}, from_page=form, follow_redirects=True)
    assert "0 message à envoyer" in page(again) and len(smtp.messages) == 3


def test_the_form_links_to_the_rounds_still_under_way_of_the_readers_caf_only(factory, caf_user, db, clock, held):
    campaign = factory.campaign()
    for number in range(3):
        factory.project(campaign, contacts=(f"savoie{number}@asso.example",))
    factory.project(campaign, contacts=("reunion@asso.example",), reference="P-REU", caf_number="974",
                    caf_name="Caf de La Réunion", timezone="Indian/Reunion")
    savoie, reunion, admin = caf_user("reviewer", "731"), caf_user("reviewer", "974"), caf_user("admin", None)
    form, _, progress, _ = urls(campaign)
    assert "Envois en cours" not in page(savoie.get(form))
    assert savoie.post(form, {"envoi": "invitation"}, from_page=form).status_code == 303
    clock.now = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    assert admin.post(form, {"envoi": "relance", "jours": "14", "caf": "974"}, from_page=form).status_code == 303

    own = savoie.get(form)
    assert "Envois en cours Ces messages attendent encore de partir" in page(own)
    assert "Invitations : 3 messages en attente" in page(own) and "Relance" not in page(own).split("Envois en cours")[1]
    assert f'href="{progress}?envoi=invitation&amp;caf=731"' in own.get_data(as_text=True)
    listed = page(reunion.get(form))
    assert "Invitations : 1 message en attente" not in listed  # La Réunion's one invitation was never planned
    assert "Relance « J‑14 » : 1 message en attente" in listed
    everyone = admin.get(form)
    assert "Invitations – toutes les Caf : 3 messages en attente" in page(everyone)
    assert "Relance « J‑14 » – Caf 974 : 1 message en attente" in page(everyone)
    assert f'href="{progress}?envoi=relance&amp;jours=14&amp;caf=974"' in everyone.get_data(as_text=True)
    # The link leads to that round's progress, which counts the same messages.
    assert "En attente 1 Envoyés 0" in page(admin.get(f"{progress}?envoi=relance&jours=14&caf=974"))
    held.release()
    assert "Envois en cours" not in page(savoie.get(form)) and "Envois en cours" not in page(admin.get(form))


def test_failed_sends_are_listed_and_sent_again(factory, caf_user, smtp, db, held):
    campaign = factory.campaign()
    factory.project(campaign, contacts=("refuse@asso.example", "ok@asso.example"), reference="P-731")
    factory.project(campaign, contacts=("ailleurs@asso.example",), reference="P-741", caf_number="741",
                    caf_name="Caf 741")
    smtp.refuse("refuse@asso.example")
    smtp.refuse("ailleurs@asso.example")
    admin = caf_user("admin", None)
    form, _, progress, failures = urls(campaign)
    admin.post(form, {"envoi": "invitation"}, from_page=form)
    held.release()
    assert "Échecs 2" in page(admin.get(progress + "?envoi=invitation"))
    reviewer = caf_user("reviewer", "731")
    listed = page(reviewer.get(failures))
    assert "1 message n’est pas parti" in listed
    assert re.search(r"Destinataire : refuse@asso\.example Projet : P-731 Message : Invitation "
                     r"Date : \w+ \w+ \w+ \d{4} à \d+ h \d\d, heure de Paris Raison : Adresse refusée", listed)
    assert "Adresse refusée par le serveur de messagerie : vérifiez-la (550 5.1.1 Mailbox unavailable)" in listed
    assert "ailleurs@" not in listed
    (mine,) = logs(db, status=EmailStatus.FAILED, contact_id=logs(db)[0].contact_id)
    (theirs,) = [log for log in logs(db, status=EmailStatus.FAILED) if log.id != mine.id]
    # Another Caf's failure: as if it did not exist, and untouched.
    assert reviewer.post(f"/caf/courriels/{theirs.id}/renvoyer", from_page=failures).status_code == 404
    assert reviewer.post(f"{failures}/renvoyer", from_page=failures).status_code == 303
    assert {log.id: log.status for log in logs(db, status=EmailStatus.PENDING)} == {mine.id: EmailStatus.PENDING}
    del smtp.mailbox.refused["refuse@asso.example"]
    held.release()
    assert [m["To"] for m in smtp.messages if m["To"] == "refuse@asso.example"] == ["refuse@asso.example"]
    assert "Aucun envoi en échec" in page(reviewer.get(failures))
    # The administrator sends one of any Caf again; without a CSRF token, nothing happens.
    assert admin.client.post(f"/caf/courriels/{theirs.id}/renvoyer").status_code == 400
    resent = admin.post(f"/caf/courriels/{theirs.id}/renvoyer", from_page=failures, follow_redirects=True)
    assert "1 message de nouveau en attente d’envoi" in page(resent)
    assert [log.id for log in logs(db, status=EmailStatus.PENDING)] == [theirs.id] and held.wakes == 3


def test_a_reason_in_french_for_every_failure():
    reason = caf_rounds.reason_in_french
    assert reason("452 4.2.2 Mailbox full").startswith("Serveur de messagerie momentanément indisponible")
    assert reason("554 5.7.1 Spam").startswith("Message refusé définitivement")
    assert reason("ConnectionRefusedError : [Errno 111] Connection refused").startswith(
        "Le serveur d’envoi n’a pas pu être joint")
    assert reason("plus de relance : le délai de réponse est passé") == "Plus de relance : le délai de réponse est passé"
    assert reason(None) == "Raison inconnue."



def test_an_administrator_without_a_second_factor_reaches_none_of_them_when_it_is_required(app, factory, caf_user):
    app.config["ADMIN_SECOND_FACTOR"] = True
    campaign = factory.campaign()
    admin = caf_user("admin", None)
    for url in urls(campaign):
        answer = admin.get(url)
        assert answer.status_code == 302 and answer.location.endswith("/compte/double-authentification"), url
