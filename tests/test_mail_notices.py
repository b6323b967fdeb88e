"""Emails after an action: the receipt, the correction notice, pending ones, and sending from the Caf pages."""
import asyncio
import time
from datetime import datetime

from aiosmtpd.controller import Controller

from survey.models import EmailKind, EmailStatus, Response, Role
from survey.operations import (
    create_user,
    request_correction,
    send_correction_notice,
    send_invitations,
    send_receipt,
    send_reminders,
    submit_response,
)
from tests.conftest import complete_clas_answers
from tests.mail_support import (
    CODE,
    LINK,
    UTC,
    campaign_of,
    cli,
    html_of,
    in_app,
    logs,
    text_of,
)
from tests.smtp import Mailbox, SmtpServer, free_port


# -- receipt and correction notice ------------------------------------------------
def transmit_through_the_web(factory, partner_for, campaign, contacts):
    response_id, tokens = factory.project(campaign, contacts=contacts)
    partner = partner_for(tokens[0])
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    return response_id


def test_the_receipt_goes_to_every_contact_with_the_reference_and_the_answers(app, smtp, campaign, factory, partner_for,
                                                                              db):
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example", "b@one.example"))
    # What the transmission view calls after its commit (calling it again sends nothing more).
    for _ in range(2):
        assert not in_app(app, lambda db: send_receipt(db, response_id)).failed
    response = db.get(Response, response_id)
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example"]
    message = smtp.messages[0]
    assert message["Subject"] == f"Clas 2023-2024 : bilan qualitatif – accusé de réception {response.receipt}"
    text, page = text_of(message), html_of(message)
    assert f"Référence : {response.receipt}" in text
    assert "Transmis le : lundi 1er juillet 2024 à 10\u00a0h\u00a000, heure de Paris" in text
    for expected in ("1. Identification de la structure", "* Nom de la structure", "Association Les Petits Savants",
                     "Fondation", "2. Localisation de l’action", "Maison de quartier", "Sans réponse",
                     "les enfants ont progressé en lecture"):
        assert expected in text
    assert "Association Les Petits Savants" in page and response.receipt in page
    receipts = {(log.kind, log.round, log.status) for log in logs(db)}
    assert receipts == {(EmailKind.RECEIPT, response.receipt, EmailStatus.SENT)}
    # The Message-ID recorded when the row was claimed is the one each message carried.
    assert sorted(log.message_id for log in logs(db)) == sorted(m["Message-ID"] for m in smtp.messages)
    assert len({m["Message-ID"] for m in smtp.messages}) == 2


class SlowMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(5)
        return await super().handle_DATA(server, session, envelope)


def test_the_answer_does_not_wait_for_the_receipts_smtp_exchange(app, campaign, factory, partner_for, db):
    slow = SmtpServer()
    slow.mailbox = SlowMailbox()
    slow.controller = Controller(slow.mailbox, hostname="127.0.0.1", port=slow.port)
    slow.start()
    app.config["SMTP_PORT"] = slow.port
    try:
        _response_id, tokens = factory.project(campaign, contacts=("a@one.example",))
        partner = partner_for(tokens[0])
        for number, data in complete_clas_answers().items():
            partner.save_page(number, data)
        partner.get("/bilan/recapitulatif")
        started = time.monotonic()
        assert partner.client.post("/bilan/transmettre", data={**partner.hidden(), "certifie": "oui"}).status_code == 302
        assert time.monotonic() - started < 4  # the SMTP server takes 5 s to accept the message
        assert slow.messages == []
        assert app.extensions["outbox"].drain(20)
        assert [m["To"] for m in slow.messages] == ["a@one.example"]
        assert [log.status for log in logs(db)] == [EmailStatus.SENT]
    finally:
        slow.stop()


def test_a_stopping_process_leaves_the_receipts_it_has_not_started_pending(app, smtp, campaign, factory,
                                                                          partner_for, db):
    app.extensions["outbox"].stopping.set()  # the process is exiting
    transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    assert smtp.messages == [] and [log.status for log in logs(db)] == [EmailStatus.PENDING]
    assert cli(app, "send-pending-emails", CODE).exit_code == 0  # what cron runs
    assert [m["To"] for m in smtp.messages] == ["a@one.example"]


def test_the_receipts_are_committed_with_the_transmission_and_sent_even_if_the_worker_dies(
        app, smtp, campaign, factory, partner_for, db, clock):
    response_id, tokens = factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    partner = partner_for(tokens[0])
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)

    def transmit_then_die(db):  # the transmission commits; the process stops before sending anything
        response = db.get(Response, response_id)
        submit_response(db, response, response.version, clock.now)
    in_app(app, transmit_then_die)
    assert smtp.messages == []
    assert sorted((log.contact.email, log.kind, log.status) for log in logs(db)) == [
        ("a@one.example", EmailKind.RECEIPT, EmailStatus.PENDING), ("b@one.example", EmailKind.RECEIPT, EmailStatus.PENDING)]
    assert cli(app, "send-pending-emails", CODE).exit_code == 0
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example"]
    assert all("Référence" in text_of(message) for message in smtp.messages)


def test_an_smtp_failure_on_a_receipt_is_recorded_and_never_raises(app, smtp, campaign, factory, partner_for, db):
    smtp.refuse("refused@one.example", "554 5.7.1 Rejected")
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example", "refused@one.example"))
    in_app(app, lambda db: send_receipt(db, response_id))
    assert [m["To"] for m in smtp.messages] == ["a@one.example"]
    refused = logs(db, status=EmailStatus.FAILED)
    assert [(log.contact.email, log.error) for log in refused] == [("refused@one.example", "554 5.7.1 Rejected")]
    # With the server down, every contact's row says why, and the transmission stands.
    app.config["SMTP_PORT"] = free_port()
    other = transmit_through_the_web(factory, partner_for, campaign, ("x@two.example", "y@two.example"))
    in_app(app, lambda db: send_receipt(db, other))
    down = [log for log in logs(db) if log.response_id == other]
    assert len(down) == 2 and all(log.status is EmailStatus.FAILED and "serveur SMTP" in log.error for log in down)
    assert db.get(Response, other).is_submitted


def test_the_correction_notice_carries_the_cafs_messages_the_delay_and_a_link(app, smtp, campaign, factory, partner_for,
                                                                              db, clock):
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    smtp.clear()  # the receipt, once the transmission view sends it
    reviewer = in_app(app, lambda db: create_user(db, "reviewer@caf.example", "correct horse battery staple", Role.REVIEWER, "731"))

    def ask(db):
        response = db.get(Response, response_id)
        request = request_correction(
            db, response, reviewer, [{"code": "lieu_action", "message": "Précisez <l'adresse> & le quartier."}],
            datetime(2024, 7, 20, 21, 59, 59, tzinfo=UTC), response.version, clock.now)
        return send_correction_notice(db, request)

    report = in_app(app, ask)
    assert report.sent == 1
    (message,) = smtp.messages
    assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – la Caf vous demande une correction"
    text, page = text_of(message), html_of(message)
    assert "* Lieu de votre action (étape 2 : Localisation de l’action)" in text
    assert "Message de la Caf : Précisez <l'adresse> & le quartier." in text
    assert "samedi 20 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in text
    assert "Précisez &lt;l&#39;adresse&gt; &amp; le quartier." in page
    partner = partner_for(LINK.search(text).group(1))
    assert partner.get("/bilan/page/2").status_code == 200
    (log,) = logs(db, kind=EmailKind.CORRECTION)
    assert log.status is EmailStatus.SENT and log.round.startswith("correction-")
    # While the correction is awaited, reminders go out with the correction's delay.
    assert cli(app, "send-reminders", CODE, "--days-before", "2").exit_code == 0
    reminder = text_of(smtp.messages[-1])
    assert "vous a demandé de corriger" in reminder and "samedi 20 juillet 2024 à 23\u00a0h\u00a059" in reminder


def test_pending_emails_of_any_kind_can_be_sent_later(app, smtp, campaign, factory, partner_for, db):
    app.config["SMTP_PORT"] = free_port()
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    in_app(app, lambda db: send_receipt(db, response_id))
    app.config["SMTP_PORT"] = smtp.port
    preview = cli(app, "send-pending-emails", CODE, "--retry-failed", "--dry-run")
    assert "a@one.example\taccusé de réception" in preview.output and smtp.messages == []
    assert cli(app, "send-pending-emails", CODE, "--retry-failed").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["a@one.example"]
    assert "Référence" in text_of(smtp.messages[0])


def test_invitations_through_the_operation_report_what_they_did(app, smtp, campaign, factory, clock):
    factory.project(campaign, contacts=("a@one.example",))
    report = in_app(app, lambda db: send_invitations(db, campaign_of(db, campaign), clock.now))
    assert (report.planned, report.sent, report.failed, report.interrupted) == (1, 1, [], [])
    report = in_app(app, lambda db: send_reminders(db, campaign_of(db, campaign), 7, clock.now, dry_run=True))
    assert [(p.recipient, p.kind, p.round) for p in report.previews] == [("a@one.example", EmailKind.REMINDER, "J-7")]


def test_transmitting_sends_the_receipt_and_a_correction_request_notifies(app, smtp, factory, partner_for, caf_user, db):
    from tests.conftest import complete_clas_answers
    response_id, (token, _) = factory.project(factory.campaign(), contacts=("direction@asso.example", "clas@asso.example"))
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    receipt = db.get(Response, response_id).receipt
    for address in ("direction@asso.example", "clas@asso.example"):
        (message,) = smtp.to(address)
        assert receipt in text_of(message) and "Maison de quartier" in text_of(message)
    smtp.clear()
    reviewer = caf_user()
    asked = reviewer.post(f"/caf/reponses/{response_id}/correction", {
        "questions": ["lieu_action"], "message-lieu_action": "Précisez la salle.", "until": "2024-07-31"},
        from_page=f"/caf/reponses/{response_id}")
    assert asked.status_code == 302
    assert app.extensions["outbox"].drain(20)  # the notice leaves from the process's sender, after the page
    (notice,) = smtp.to("direction@asso.example")
    assert "Précisez la salle." in text_of(notice)
    # Transmitted again: a second receipt, with the same reference, saying which version counts.
    smtp.clear()
    partner.save_page(2, {**complete_clas_answers()[2], "lieu_action": "Maison de quartier, salle B"})
    assert partner.transmit().status_code == 302
    assert db.get(Response, response_id).receipt == receipt
    for address in ("direction@asso.example", "clas@asso.example"):
        (again,) = smtp.to(address)
        assert f"Il garde sa référence {receipt} : c’est cette dernière version" in text_of(again)
        assert "salle B" in text_of(again)
