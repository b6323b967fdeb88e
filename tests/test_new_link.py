"""A Caf sends a new personal link to one project whose partner lost theirs."""
import html
from datetime import datetime

from tests.mail_support import CODE, LINK, UTC, logs, set_state, text_of
from tests.smtp import free_port

SENT = "Un nouveau lien personnel est parti vers"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def send_link(user, response_id):
    return user.post(f"/caf/reponses/{response_id}/lien", {}, from_page=f"/caf/reponses/{response_id}")


def test_every_contact_gets_a_fresh_link_that_opens_the_bilan_and_the_old_ones_still_work(app, smtp, factory, caf_user,
                                                                                          db):
    response_id, (old_token, _) = factory.project(factory.campaign(), contacts=("a@asso.example", "b@asso.example"))
    reviewer = caf_user()
    page = page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert "Envoyer un nouveau lien personnel" in page and "a@asso.example, b@asso.example" in page

    sent = send_link(reviewer, response_id)

    assert sent.status_code == 302
    assert f"{SENT} 2 contact(s)" in page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert sorted(m["To"] for m in smtp.messages) == ["a@asso.example", "b@asso.example"]
    message = smtp.to("a@asso.example")[0]
    assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
    assert "lundi 15 juillet 2024 à 23 h 59, heure de Paris" in text_of(message)
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
    assert "rien de plus n'est parti" in page_text(reviewer.get(f"/caf/reponses/{response_id}"))
    assert len(smtp.messages) == 1


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
    assert ("Le délai du partenaire a pris fin le lundi 15 juillet 2024 à 23 h 59, heure de Paris : "
            "accordez-lui d'abord un délai supplémentaire") in page_text(closed)
    assert smtp.messages == [] and logs(db) == []

    extended = reviewer.post(f"/caf/reponses/{late}/delai", {"until": "2024-07-31", "reason": "Courriel perdu"},
                             from_page=f"/caf/reponses/{late}")
    assert extended.status_code == 302
    assert send_link(reviewer, late).status_code == 302
    (message,) = smtp.messages
    assert message["To"] == "l@asso.example" and "mercredi 31 juillet 2024 à 23 h 59" in text_of(message)


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


def test_an_unreachable_smtp_server_is_said_and_the_link_waits_for_send_pending_emails(app, smtp, factory, caf_user, db):
    response_id, _ = factory.project(factory.campaign(code=CODE), contacts=("a@asso.example",))
    reviewer = caf_user()
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # nobody listens there

    down = send_link(reviewer, response_id)

    assert down.status_code == 503 and "le lien n'est pas parti" in page_text(down)
    (log,) = logs(db)
    assert log.status.value == "pending"
    app.config["SMTP_PORT"] = port
    assert app.test_cli_runner().invoke(args=["send-pending-emails", CODE]).exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["a@asso.example"]
    assert logs(db)[0].status.value == "sent"
