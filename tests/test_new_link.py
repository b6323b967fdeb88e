"""A Caf sends a new personal link to one project whose partner lost theirs."""
import html
from datetime import datetime, timedelta

from sqlalchemy import select

from survey.models import Contact, EmailKind, EventKind, Response, ResponseEvent
from tests.conftest import complete_clas_answers
from tests.mail_support import CODE, LINK, UTC, logs, set_state, text_of
from tests.smtp import free_port

SENT = "Un nouveau lien personnel est parti vers"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def send_link(user, response_id):
    return user.post(f"/caf/reponses/{response_id}/lien", {}, from_page=f"/caf/reponses/{response_id}")


def hold_back_a_link(app, user, response_id):
    """Ask for a link while nobody listens on the SMTP port: it stays pending."""
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()
    send_link(user, response_id)
    app.config["SMTP_PORT"] = port


def test_every_contact_gets_a_fresh_link_that_opens_the_bilan_and_the_old_ones_still_work(app, smtp, factory, caf_user,
                                                                                          db):
    response_id, (old_token, _) = factory.project(factory.campaign(), contacts=("a@asso.example", "b@asso.example"))
    reviewer = caf_user()
    page = page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert "Envoyer un nouveau lien personnel" in page and "a@asso.example, b@asso.example" in page

    sent = send_link(reviewer, response_id)

    assert sent.status_code == 302
    assert f"{SENT} 2 contacts" in page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert sorted(m["To"] for m in smtp.messages) == ["a@asso.example", "b@asso.example"]
    message = smtp.to("a@asso.example")[0]
    assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
    assert "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in text_of(message)
    new_token = LINK.search(text_of(message)).group(1)
    assert new_token != old_token
    for token in (new_token, old_token):
        assert app.test_client().get(f"/r/{token}").status_code == 302  # both open the bilan
    assert all(log.round.startswith("lien-") and log.status.value == "sent" for log in logs(db))


def test_a_double_click_sends_nothing_more(smtp, factory, caf_user):
    response_id, _ = factory.project(factory.campaign(), contacts=("a@asso.example",))
    reviewer = caf_user()
    send_link(reviewer, response_id)

    again = send_link(reviewer, response_id)

    assert again.status_code == 302
    assert "il y a moins d'une minute : rien de plus n'est parti" in page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert len(smtp.messages) == 1


def test_a_minute_later_a_new_request_sends_a_new_link_and_the_history_keeps_who_asked(smtp, factory, caf_user, clock,
                                                                                        db):
    response_id, _ = factory.project(factory.campaign(), contacts=("a@asso.example",))
    reviewer = caf_user()
    send_link(reviewer, response_id)
    clock.now = clock.now + timedelta(seconds=61)

    assert send_link(reviewer, response_id).status_code == 302

    assert len(smtp.messages) == 2
    assert LINK.search(text_of(smtp.messages[0])).group(1) != LINK.search(text_of(smtp.messages[1])).group(1)
    events = [e for e in db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response_id))]
    assert [(e.kind, e.new_value) for e in events] == [(EventKind.LINK_SENT, "a@asso.example")] * 2
    history = page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert "Nouveau lien envoyé au partenaire" in history and "reviewer-731@caf.example" in history  # compact journal


def test_no_link_for_a_transmitted_bilan_nor_after_the_partners_deadline_until_an_extension(smtp, factory, caf_user,
                                                                                           clock, db):
    campaign = factory.campaign()
    transmitted, _ = factory.project(campaign, contacts=("t@asso.example",))
    set_state(db, transmitted, "submitted", clock.now)
    late, _ = factory.project(campaign, contacts=("l@asso.example",))
    reviewer = caf_user()

    refused = send_link(reviewer, transmitted)
    assert refused.status_code == 409 and "Ce bilan est transmis" in page_text(refused)

    clock.now = datetime(2024, 7, 16, 8, 0, tzinfo=UTC)  # the day after the deadline
    closed = send_link(reviewer, late)
    assert closed.status_code == 409
    assert ("Le délai du partenaire a pris fin le lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris : "
            "accordez-lui d'abord un délai supplémentaire") in page_text(closed)
    assert smtp.messages == [] and logs(db) == []

    extended = reviewer.post(f"/caf/reponses/{late}/delai", {"until": "2024-07-31", "reason": "Courriel perdu"},
                             from_page=f"/caf/reponses/{late}")
    assert extended.status_code == 302
    assert send_link(reviewer, late).status_code == 302
    (message,) = smtp.messages
    assert message["To"] == "l@asso.example" and "mercredi 31 juillet 2024 à 23\u00a0h\u00a059" in text_of(message)


def test_a_project_without_contact_is_told_so(smtp, factory, caf_user):
    response_id, _ = factory.project(factory.campaign(), contacts=())
    reviewer = caf_user()

    refused = send_link(reviewer, response_id)

    assert refused.status_code == 409 and "Ce projet n'a aucun contact" in page_text(refused)


def test_another_cafs_reviewer_gets_nothing_and_sends_nothing(smtp, factory, caf_user, db):
    response_id, _ = factory.project(factory.campaign(), contacts=("a@asso.example",))
    caf_user("reviewer", "731", sign_in=False)  # the project's Caf exists with its own reviewer
    other = caf_user("reviewer", "741")

    refused = other.post(f"/caf/reponses/{response_id}/lien", {}, from_page="/caf/")  # a valid token of its own

    assert refused.status_code == 404
    assert smtp.messages == [] and logs(db) == []


def test_a_forged_request_without_the_csrf_token_sends_nothing(smtp, factory, caf_user, db):
    response_id, _ = factory.project(factory.campaign(), contacts=("a@asso.example",))
    reviewer = caf_user()

    forged = reviewer.client.post(f"/caf/reponses/{response_id}/lien", data={})

    assert forged.status_code == 400
    assert smtp.messages == [] and logs(db) == []


def test_an_unreachable_smtp_server_is_said_and_the_held_back_link_leaves_once(app, smtp, factory, caf_user, clock, db):
    response_id, _ = factory.project(factory.campaign(code=CODE), contacts=("a@asso.example",))
    reviewer = caf_user()
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # nobody listens there

    down = send_link(reviewer, response_id)

    assert down.status_code == 302
    assert "le lien n'est pas encore parti" in page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    (log,) = logs(db)
    assert log.status.value == "pending"
    project = db.get(Response, response_id).project
    db.add(Contact(project=project, email="c@asso.example"))  # imported in the meantime
    db.commit()
    app.config["SMTP_PORT"] = port
    clock.now = clock.now + timedelta(minutes=5)  # the reviewer tries again later: the same link leaves
    assert send_link(reviewer, response_id).status_code == 302
    assert send_link(reviewer, response_id).status_code == 302  # and a double click right after
    assert sorted(m["To"] for m in smtp.messages) == ["a@asso.example", "c@asso.example"]
    assert [log.status.value for log in logs(db)] == ["sent", "sent"] and logs(db)[0].round == logs(db)[1].round
    assert app.test_cli_runner().invoke(args=["send-pending-emails", CODE]).exit_code == 0
    assert len(smtp.messages) == 2


def test_a_held_back_link_is_not_sent_once_the_partner_has_transmitted(app, smtp, factory, caf_user, clock, db):
    response_id, _ = factory.project(factory.campaign(code=CODE), contacts=("a@asso.example",))
    reviewer = caf_user()
    hold_back_a_link(app, reviewer, response_id)
    set_state(db, response_id, "submitted", clock.now)

    assert app.test_cli_runner().invoke(args=["send-pending-emails", CODE]).exit_code == 0

    assert smtp.messages == []
    (log,) = logs(db)
    assert (log.status.value, log.error) == ("skipped", "plus de nouveau lien : bilan transmis entre-temps")


def test_a_held_back_link_gives_way_to_a_later_correction_request_which_carries_one(app, smtp, factory, caf_user,
                                                                                    clock, db):
    response_id, _ = factory.project(factory.campaign(code=CODE), contacts=("a@asso.example",))
    reviewer = caf_user()
    hold_back_a_link(app, reviewer, response_id)
    set_state(db, response_id, "submitted", clock.now)
    clock.now = clock.now + timedelta(minutes=1)
    asked = reviewer.post(f"/caf/reponses/{response_id}/correction", {
        "questions": ["lieu_action"], "message-lieu_action": "Précisez la salle.", "until": "2024-07-20"},
        from_page=f"/caf/reponses/{response_id}")
    assert asked.status_code == 302

    assert app.test_cli_runner().invoke(args=["send-pending-emails", CODE]).exit_code == 0

    (notice,) = smtp.messages
    assert "Précisez la salle." in text_of(notice)
    held_back = logs(db, kind=EmailKind.INVITATION)[0]
    assert held_back.status.value == "skipped" and "la demande de correction" in held_back.error


def test_a_refused_address_is_named_and_the_others_get_their_link(smtp, factory, caf_user):
    response_id, _ = factory.project(factory.campaign(), contacts=("ok@asso.example", "gone@asso.example"))
    smtp.refuse("gone@asso.example")
    reviewer = caf_user()

    assert send_link(reviewer, response_id).status_code == 302

    shown = page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert f"{SENT} 1 contact" in shown and "refusé le lien pour gone@asso.example (550" in shown
    assert [m["To"] for m in smtp.messages] == ["ok@asso.example"]


def test_after_a_correction_delay_an_extension_reopens_it_and_the_new_link_says_so(app, smtp, factory, partner_for,
                                                                                   caf_user, clock, db):
    response_id, (token,) = factory.project(factory.campaign(), contacts=("a@asso.example",))
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    reviewer = caf_user()
    asked = reviewer.post(f"/caf/reponses/{response_id}/correction", {
        "questions": ["lieu_action"], "message-lieu_action": "Précisez la salle.", "until": "2024-07-20"},
        from_page=f"/caf/reponses/{response_id}")
    assert asked.status_code == 302
    assert app.extensions["outbox"].drain(20)  # the correction notice has left
    smtp.clear()
    clock.now = datetime(2024, 7, 22, 8, 0, tzinfo=UTC)  # the correction delay is over
    assert "Le délai de correction accordé par la Caf a pris fin" in page_text(partner.get("/bilan/page/2"))

    late = send_link(reviewer, response_id)
    assert late.status_code == 409
    assert "Le délai de correction accordé au partenaire a pris fin le samedi 20 juillet 2024 à 23\u00a0h\u00a059" in page_text(late)
    assert "Prolonger le délai de correction du partenaire" in page_text(late)
    extended = reviewer.post(f"/caf/reponses/{response_id}/delai", {"until": "2024-07-31", "reason": "Congés"},
                             from_page=f"/caf/reponses/{response_id}")
    assert extended.status_code == 302
    assert partner.save_page(2, {"lieu_action": "Salle B"}).status_code == 302  # the partner may correct again
    assert send_link(reviewer, response_id).status_code == 302
    text = text_of(smtp.to("a@asso.example")[0])
    assert "vous a demandé de corriger le bilan" in text
    assert "Corrections à transmettre avant le mercredi 31 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in text
