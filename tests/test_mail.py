"""Emails to partners, through a real SMTP server on localhost: planned, sent once, resumable."""
import html
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, update

from survey import mail
from survey.db import get_session
from survey.models import AccessLink, EmailKind, EmailLog, EmailStatus, Response, Role
from survey.operations import (
    create_user,
    request_correction,
    send_correction_notice,
    send_invitations,
    send_receipt,
    send_reminders,
)
from survey.operations.mailing import deliver, invitation_round, plan, reminder_round
from tests.conftest import complete_clas_answers
from tests.smtp import SmtpServer, free_port

UTC = timezone.utc
CODE = "clas-2023-2024"
DEADLINE = "lundi 15 juillet 2024 à 23 h 59, heure de Paris"
LINK = re.compile(r"http://bilan\.test/r/([A-Za-z0-9_-]+)")


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port of 127.0.0.1, and the app pointed at it."""
    server = SmtpServer().start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5, MAIL_PER_SECOND=1000,
                      BASE_URL="http://bilan.test", MAIL_FROM="bilan-clas@caf.example")
    yield server
    server.stop()


@pytest.fixture
def campaign(factory):
    return factory.campaign(code=CODE)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def text_of(message) -> str:
    """The plain-text part, its lines joined (wrapping is no concern of the tests)."""
    return " ".join(message.get_body(("plain",)).get_content().split())


def html_of(message) -> str:
    return " ".join(message.get_body(("html",)).get_content().split())


def logs(db, **where):
    db.expire_all()
    query = select(EmailLog).order_by(EmailLog.id)
    for name, value in where.items():
        query = query.where(getattr(EmailLog, name) == value)
    return db.scalars(query).all()


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def in_app(app, operation):
    """Run ``operation(db)`` as a command or a view would, in an application context."""
    with app.app_context():
        return operation(get_session())


def campaign_of(db, campaign_id):
    from survey.models import Campaign
    return db.get(Campaign, campaign_id)


def set_state(db, response_id, state, now):
    """Move a response along without the web journey: transmitted or started."""
    response = db.get(Response, response_id)
    if state == "submitted":
        response.mark_submitted(now, f"BQ-T{response_id:05d}")
    else:
        response.record_edit({**response.answers, "lieu_action": "Salle des fêtes"}, {}, now)
    db.commit()


# -- invitations --------------------------------------------------------------
def test_invitations_reach_every_contact_with_a_working_personal_link(app, smtp, campaign, factory, partner_for, db):
    first, (old_token, _) = factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    factory.project(campaign, contacts=("c@two.example",), caf_number="741", caf_name="Caf de la Haute-Savoie")
    result = cli(app, "send-invitations", CODE)
    assert result.exit_code == 0, result.output
    assert "Envoyés : 3. Échecs : 0." in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example", "c@two.example"]

    message = smtp.to("a@one.example")[0]
    assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
    assert message["From"] == "bilan-clas@caf.example"
    assert re.fullmatch(r"<[^@<>]+@caf\.example>", message["Message-ID"])
    assert message["Date"].datetime.tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    text, page = text_of(message), html_of(message)
    assert DEADLINE in text and DEADLINE in page
    assert "Caf de la Savoie" in text and "P-0002" in text
    token = LINK.search(text).group(1)
    assert f'href="http://bilan.test/r/{token}"' in page
    assert "<img" not in page
    # The personal link opens the project's questionnaire...
    partner = partner_for(token)
    assert "Structure 2" in html.unescape(partner.get("/bilan").get_data(as_text=True))
    # ...and the links given before stay valid.
    partner_for(old_token)
    # Each contact got a link of their own.
    tokens = {LINK.search(text_of(m)).group(1) for m in smtp.messages}
    assert len(tokens) == 3
    sent = logs(db)
    assert [(log.kind, log.round, log.status) for log in sent] == [(EmailKind.INVITATION, "invitation",
                                                                     EmailStatus.SENT)] * 3
    assert all(log.sent_at is not None and log.error is None and log.message_id for log in sent)
    assert {log.response_id for log in sent if log.contact.email.endswith("one.example")} == {first}


def test_the_html_part_escapes_what_was_imported(app, smtp, campaign, factory, db):
    response_id, _ = factory.project(campaign)
    response = db.get(Response, response_id)
    response.project.structure_name = "<b>Petits & Grands</b>"
    db.commit()
    assert cli(app, "send-invitations", CODE).exit_code == 0
    (message,) = smtp.messages
    assert "&lt;b&gt;Petits &amp; Grands&lt;/b&gt;" in html_of(message)
    assert "<b>Petits" not in html_of(message)
    assert "<b>Petits & Grands</b>" in text_of(message)


def test_the_deadline_shown_includes_the_projects_extension(app, smtp, campaign, factory, db):
    response_id, _ = factory.project(campaign)
    db.get(Response, response_id).extended_until = datetime(2024, 7, 31, 21, 59, tzinfo=UTC)
    db.commit()
    assert cli(app, "send-invitations", CODE).exit_code == 0
    assert "mercredi 31 juillet 2024 à 23 h 59, heure de Paris" in text_of(smtp.messages[0])


def test_a_caf_invites_only_its_own_projects(app, smtp, campaign, factory):
    factory.project(campaign, contacts=("savoie@one.example",))
    factory.project(campaign, contacts=("haute-savoie@two.example",), caf_number="741", caf_name="Caf 741")
    assert cli(app, "send-invitations", CODE, "--caf", "741").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["haute-savoie@two.example"]
    unknown = cli(app, "send-invitations", CODE, "--caf", "999")
    assert unknown.exit_code == 1 and "Aucune Caf n'a le numéro 999" in unknown.output


def test_a_rerun_sends_nothing_twice_and_only_what_is_new(app, smtp, campaign, factory, db):
    response_id, _ = factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    assert cli(app, "send-invitations", CODE).exit_code == 0
    again = cli(app, "send-invitations", CODE)
    assert again.exit_code == 0 and "Messages planifiés : 0. Envoyés : 0." in again.output
    assert len(smtp.messages) == 2 and len(logs(db)) == 2
    # A contact added later is invited on the next run, alone.
    from survey.models import Contact
    db.add(Contact(project_id=db.get(Response, response_id).project_id, email="new@one.example"))
    db.commit()
    assert cli(app, "send-invitations", CODE).exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["a@one.example", "b@one.example", "new@one.example"]


def test_a_dry_run_sends_nothing_and_writes_nothing(app, smtp, campaign, factory, db):
    factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    links, rows = count(db, AccessLink), count(db, EmailLog)
    result = cli(app, "send-invitations", CODE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Simulation : 2 message(s)" in result.output
    subject = "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
    assert f"a@one.example\tinvitation\tP-0002\t{subject}" in result.output
    assert smtp.messages == []
    assert (count(db, AccessLink), count(db, EmailLog)) == (links, rows)


# -- failures, crashes, resuming ------------------------------------------------
def test_a_refused_recipient_is_recorded_with_its_reason_and_the_others_still_go(app, smtp, campaign, factory, db):
    factory.project(campaign, contacts=("a@one.example", "refused@one.example", "c@one.example"))
    smtp.refuse("refused@one.example")
    result = cli(app, "send-invitations", CODE)
    assert result.exit_code == 1
    assert "Envoyés : 2. Échecs : 1." in result.output
    assert "refused@one.example (P-0002) : 550 5.1.1 Mailbox unavailable" in result.output
    (failed,) = logs(db, status=EmailStatus.FAILED)
    assert failed.contact.email == "refused@one.example" and failed.error == "550 5.1.1 Mailbox unavailable"
    assert failed.sent_at is None
    # A plain rerun leaves failures alone; --retry-failed tries them again.
    smtp.mailbox.refused.clear()
    assert cli(app, "send-invitations", CODE).exit_code == 0
    assert len(smtp.messages) == 2
    assert cli(app, "send-invitations", CODE, "--retry-failed").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["a@one.example", "c@one.example", "refused@one.example"]
    assert {log.status for log in logs(db)} == {EmailStatus.SENT}


def test_a_crash_mid_run_then_a_rerun_sends_exactly_the_rest_and_never_the_interrupted(app, smtp, campaign, factory, db,
                                                                                        monkeypatch):
    contacts = [f"c{number}@one.example" for number in range(5)]
    factory.project(campaign, contacts=contacts)
    handed_over = []
    deliver = mail.Postman.send

    def crash_on_the_third(postman, message):
        if len(handed_over) == 2:
            raise KeyboardInterrupt  # the process dies while talking to the server
        handed_over.append(message["To"])
        deliver(postman, message)

    monkeypatch.setattr(mail.Postman, "send", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        in_app(app, lambda db: send_invitations(db, campaign_of(db, campaign), app.config["FROZEN_NOW"]()))
    assert [m["To"] for m in smtp.messages] == contacts[:2]
    statuses = [log.status for log in logs(db)]
    assert statuses == [EmailStatus.SENT] * 2 + [EmailStatus.SENDING] + [EmailStatus.PENDING] * 2

    monkeypatch.setattr(mail.Postman, "send", deliver)
    result = cli(app, "send-invitations", CODE)
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in smtp.messages] == contacts[:2] + contacts[3:]
    assert "1 message(s) sont restés « en cours d'envoi »" in result.output and "c2@one.example" in result.output
    # Not even on request: a message that may have left is never sent again.
    assert cli(app, "send-invitations", CODE, "--retry-failed").exit_code == 0
    assert len(smtp.messages) == 4
    assert [log.status for log in logs(db)].count(EmailStatus.SENDING) == 1


def test_a_message_another_run_claimed_meanwhile_is_left_to_it(app, smtp, campaign, factory, clock):
    factory.project(campaign, contacts=("a@one.example", "b@one.example"))

    def run(db):
        plan(db, invitation_round(campaign_of(db, campaign)), clock.now)
        rows = list(db.scalars(select(EmailLog).order_by(EmailLog.id)))
        with app.extensions["db_sessionmaker"]() as other_process:
            other_process.execute(update(EmailLog).where(EmailLog.id == rows[0].id).values(status=EmailStatus.SENDING))
            other_process.commit()
        return deliver(db, rows, clock.now)

    report = in_app(app, run)
    assert report.sent == 1 and [m["To"] for m in smtp.messages] == ["b@one.example"]


def test_an_unreachable_server_stops_the_batch_and_leaves_the_rest_pending(app, smtp, campaign, factory, db):
    factory.project(campaign, contacts=("a@one.example", "b@one.example", "c@one.example"))
    app.config["SMTP_PORT"] = free_port()
    links = count(db, AccessLink)
    result = cli(app, "send-invitations", CODE)
    assert result.exit_code == 1 and "Serveur SMTP injoignable" in result.output
    # Nothing was attempted: every row is still pending, the first says why, no link was made.
    assert [log.status for log in logs(db)] == [EmailStatus.PENDING] * 3
    assert "Connection refused" in logs(db)[0].error and count(db, AccessLink) == links
    app.config["SMTP_PORT"] = smtp.port
    assert cli(app, "send-invitations", CODE).exit_code == 0
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example", "c@one.example"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_smtp_login_of_the_settings_is_used_and_a_refused_login_is_reported(app, campaign, factory, db):
    server = SmtpServer(login=("bilan", "s3cret-pass")).start()
    try:
        factory.project(campaign, contacts=("a@one.example",))
        app.config.update(SMTP_PORT=server.port, SMTP_TIMEOUT=5, SMTP_USER="bilan", SMTP_PASSWORD="wrong")
        result = cli(app, "send-invitations", CODE)
        assert result.exit_code == 1 and "535" in result.output and server.messages == []
        app.config["SMTP_PASSWORD"] = "s3cret-pass"
        assert cli(app, "send-invitations", CODE).exit_code == 0
        assert [m["To"] for m in server.messages] == ["a@one.example"]
    finally:
        server.stop()


def test_the_throttle_spaces_messages():
    moments, slept = iter([0.0, 0.05, 0.2, 0.3, 0.4]), []
    throttle = mail.Throttle(5, sleep=slept.append, clock=lambda: next(moments))
    for _ in range(3):
        throttle.wait()
    assert slept == [pytest.approx(0.15), pytest.approx(0.1)]
    assert mail.Throttle(0).interval == 0


# -- reminders -------------------------------------------------------------------
def test_reminders_skip_transmitted_projects_and_a_caf_reminds_only_its_own(app, smtp, campaign, factory, db, clock):
    transmitted, _ = factory.project(campaign, contacts=("done@one.example",))
    started, _ = factory.project(campaign, contacts=("started@two.example",))
    factory.project(campaign, contacts=("idle@three.example",))
    factory.project(campaign, contacts=("other@four.example",), caf_number="741", caf_name="Caf 741")
    set_state(db, transmitted, "submitted", clock.now)
    set_state(db, started, "in_progress", clock.now)

    result = cli(app, "send-reminders", CODE, "--days-before", "14", "--caf", "731")
    assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp.messages) == ["idle@three.example", "started@two.example"]
    assert {log.round for log in logs(db)} == {"J-14/731"}
    idle = text_of(smtp.to("idle@three.example")[0])
    assert "n'est pas encore commencé" in idle and DEADLINE in idle and LINK.search(idle)
    assert "est commencé mais n'a pas encore été transmis" in text_of(smtp.to("started@two.example")[0])
    assert smtp.messages[0]["Subject"] == ("Clas 2023-2024 : bilan qualitatif – rappel : bilan à transmettre avant le "
                                           "lundi 15 juillet 2024")
    # The national round the same day does not remind Caf 731's projects again.
    assert cli(app, "send-reminders", CODE, "--days-before", "14").exit_code == 0
    assert [m["To"] for m in smtp.messages][2:] == ["other@four.example"]
    assert cli(app, "send-reminders", CODE, "--days-before", "14").exit_code == 0
    assert len(smtp.messages) == 3


def test_a_reminder_planned_before_a_transmission_is_not_sent(app, smtp, campaign, factory, db, clock):
    response_id, _ = factory.project(campaign, contacts=("a@one.example",))
    in_app(app, lambda db: plan(db, reminder_round(campaign_of(db, campaign), 7), clock.now))
    set_state(db, response_id, "submitted", clock.now)
    result = cli(app, "send-reminders", CODE, "--days-before", "7")
    assert result.exit_code == 0 and "Relances devenues inutiles : 1." in result.output
    assert smtp.messages == []
    (skipped,) = logs(db)
    assert skipped.status is EmailStatus.SKIPPED and "transmis" in skipped.error


def test_no_reminder_once_the_time_to_answer_is_over(app, smtp, campaign, factory, clock):
    factory.project(campaign)
    clock.set(datetime(2024, 7, 16, 8, 0, tzinfo=UTC))
    assert cli(app, "send-reminders", CODE, "--days-before", "0").exit_code == 0
    assert smtp.messages == []


def test_due_reminders_send_each_round_once_on_its_day(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example",))
    moments = [
        (datetime(2024, 6, 30, 21, 0, tzinfo=UTC), None),       # 30 June, 23:00 in Paris: nothing due yet
        (datetime(2024, 6, 30, 22, 0, tzinfo=UTC), "J-14"),     # 1 July, 00:00 in Paris
        (datetime(2024, 7, 3, 6, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 8, 6, 0, tzinfo=UTC), "J-7"),
        (datetime(2024, 7, 8, 18, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 13, 6, 0, tzinfo=UTC), "J-2"),
        (datetime(2024, 7, 15, 6, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 16, 6, 0, tzinfo=UTC), None),        # after the deadline
    ]
    for moment, expected in moments:
        clock.set(moment)
        before = len(smtp.messages)
        result = cli(app, "send-due-reminders", CODE, "--schedule", "14,7,2")
        assert result.exit_code == 0, result.output
        assert len(smtp.messages) - before == (1 if expected else 0), (moment, result.output)
    assert [log.round for log in logs(db)] == ["J-14", "J-7", "J-2"]


def test_due_reminders_after_missed_runs_send_only_the_latest_round(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example",))
    clock.set(datetime(2024, 7, 9, 6, 0, tzinfo=UTC))
    result = cli(app, "send-due-reminders", CODE, "--schedule", "14,7,2", "--caf", "731")
    assert result.exit_code == 0, result.output
    assert "Relances dépassées, non envoyées : J-14." in result.output and "Relance J-7/731" in result.output
    assert len(smtp.messages) == 1 and [log.round for log in logs(db)] == ["J-7/731"]


def test_due_reminders_finish_a_crashed_round_without_replanning_it(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    clock.set(datetime(2024, 7, 8, 6, 0, tzinfo=UTC))
    in_app(app, lambda db: plan(db, reminder_round(campaign_of(db, campaign), 7), clock.now))
    result = cli(app, "send-due-reminders", CODE, "--schedule", "7")
    assert result.exit_code == 0 and "Messages planifiés : 0. Envoyés : 2." in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example"]


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
        assert not in_app(app, lambda db: send_receipt(db, db.get(Response, response_id))).failed
    response = db.get(Response, response_id)
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example"]
    message = smtp.messages[0]
    assert message["Subject"] == f"Clas 2023-2024 : bilan qualitatif – accusé de réception {response.receipt}"
    text, page = text_of(message), html_of(message)
    assert f"Référence : {response.receipt}" in text
    assert "Transmis le : lundi 1er juillet 2024 à 10 h 00, heure de Paris" in text
    for expected in ("1. Identification de la structure", "* Nom de la structure", "Association Les Petits Savants",
                     "Fondation", "2. Localisation de l'action", "Maison de quartier", "Sans réponse",
                     "les enfants ont progressé en lecture"):
        assert expected in text
    assert "Association Les Petits Savants" in page and response.receipt in page
    receipts = {(log.kind, log.round, log.status) for log in logs(db)}
    assert receipts == {(EmailKind.RECEIPT, response.receipt, EmailStatus.SENT)}


def test_an_smtp_failure_on_a_receipt_is_recorded_and_never_raises(app, smtp, campaign, factory, partner_for, db):
    smtp.refuse("refused@one.example", "554 5.7.1 Rejected")
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example", "refused@one.example"))
    in_app(app, lambda db: send_receipt(db, db.get(Response, response_id)))
    assert [m["To"] for m in smtp.messages] == ["a@one.example"]
    refused = logs(db, status=EmailStatus.FAILED)
    assert [(log.contact.email, log.error) for log in refused] == [("refused@one.example", "554 5.7.1 Rejected")]
    # With the server down, every contact's row says why, and the transmission stands.
    app.config["SMTP_PORT"] = free_port()
    other = transmit_through_the_web(factory, partner_for, campaign, ("x@two.example", "y@two.example"))
    in_app(app, lambda db: send_receipt(db, db.get(Response, other)))
    down = [log for log in logs(db) if log.response_id == other]
    assert len(down) == 2 and all(log.status is EmailStatus.FAILED and "serveur SMTP" in log.error for log in down)
    assert db.get(Response, other).is_submitted


def test_the_correction_notice_carries_the_cafs_messages_the_delay_and_a_link(app, smtp, campaign, factory, partner_for,
                                                                              db, clock):
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    smtp.clear()  # the receipt, once the transmission view sends it
    reviewer = in_app(app, lambda db: create_user(db, "reviewer@caf.example", "a" * 12, Role.REVIEWER, "731"))

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
    assert "* Lieu de votre action (étape 2 : Localisation de l'action)" in text
    assert "Message de la Caf : Précisez <l'adresse> & le quartier." in text
    assert "samedi 20 juillet 2024 à 23 h 59, heure de Paris" in text
    assert "Précisez &lt;l&#39;adresse&gt; &amp; le quartier." in page
    partner = partner_for(LINK.search(text).group(1))
    assert partner.get("/bilan/page/2").status_code == 200
    (log,) = logs(db, kind=EmailKind.CORRECTION)
    assert log.status is EmailStatus.SENT and log.round.startswith("correction-")
    # While the correction is awaited, reminders go out with the correction's delay.
    assert cli(app, "send-reminders", CODE, "--days-before", "2").exit_code == 0
    reminder = text_of(smtp.messages[-1])
    assert "vous a demandé de corriger" in reminder and "samedi 20 juillet 2024 à 23 h 59" in reminder


def test_pending_emails_of_any_kind_can_be_sent_later(app, smtp, campaign, factory, partner_for, db):
    app.config["SMTP_PORT"] = free_port()
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    in_app(app, lambda db: send_receipt(db, db.get(Response, response_id)))
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
    (notice,) = smtp.to("direction@asso.example")
    assert "Précisez la salle." in text_of(notice)


def test_a_caf_sends_from_its_pages_only_to_its_own_projects(app, smtp, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, contacts=("savoie@asso.example",))
    factory.project(campaign, contacts=("haute-savoie@asso.example",), caf_number="741", caf_name="Caf de la Haute-Savoie")
    reviewer = caf_user("reviewer", "731")
    url = f"/caf/campagnes/{campaign}/courriels"
    preview = reviewer.post(url, {"kind": "invitation", "mode": "apercu", "caf": "741"}, from_page=url)
    text = html.unescape(preview.get_data(as_text=True))
    assert "1 message(s) partiraient" in text and "savoie@asso.example" in text and "haute-savoie@" not in text
    assert smtp.messages == []
    sent = reviewer.post(url, {"kind": "invitation", "mode": "envoyer"}, from_page=url)
    assert "1 message(s) envoyé(s)" in html.unescape(sent.get_data(as_text=True))
    assert [m["To"] for m in smtp.messages] == ["savoie@asso.example"]
    again = reviewer.post(url, {"kind": "invitation", "mode": "envoyer"}, from_page=url)
    assert "0 message(s) envoyé(s)" in html.unescape(again.get_data(as_text=True)) and len(smtp.messages) == 1
    bad = reviewer.post(url, {"kind": "relance", "days_before": "-3", "mode": "apercu"}, from_page=url)
    assert bad.status_code == 400 and "nombre de jours" in html.unescape(bad.get_data(as_text=True))
    admin = caf_user("admin", None)
    everyone = admin.post(url, {"kind": "relance", "days_before": "7", "mode": "apercu"}, from_page=url)
    assert "2 message(s) partiraient" in html.unescape(everyone.get_data(as_text=True))
