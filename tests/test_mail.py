"""Emails to partners, through a real SMTP server on localhost: planned, sent once, resumable."""
import html
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from survey.mail import messages as mail
from survey.mail.rounds import deliver, invitation_round, plan
from survey.models import AccessLink, EmailKind, EmailLog, EmailStatus, Response
from survey.operations import send_invitations
from tests.mail_support import (
    CODE,
    DEADLINE,
    LINK,
    UTC,
    campaign_of,
    cli,
    count,
    html_of,
    in_app,
    logs,
    text_of,
)
from tests.smtp import SmtpServer, free_port


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
    # The seed's "pas de versement de PS Clas".
    warning = "Après la date limite, le questionnaire ne sera plus accessible et la prestation de service Clas ne pourra pas être versée."
    assert warning in text and warning in page
    assert "dans « Mon compte partenaire », avec la même date limite" in text  # what this questionnaire is not
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
    assert "mercredi 31 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in text_of(smtp.messages[0])


def test_a_sender_name_and_a_subject_in_french_arrive_encoded_and_intact(app, smtp, campaign, factory):
    app.config["MAIL_FROM"] = "Caf – Bilans CLAS <bilan-clas@caf.example>"
    factory.project(campaign, contacts=("a@one.example",))
    assert cli(app, "send-invitations", CODE).exit_code == 0
    (message,) = smtp.messages
    assert message["From"].addresses[0].display_name == "Caf – Bilans CLAS"
    assert message["From"].addresses[0].addr_spec == "bilan-clas@caf.example"
    assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
    assert message.raw.isascii()  # headers encoded (RFC 2047), bodies quoted-printable
    assert message["MIME-Version"] == "1.0"
    assert [part["MIME-Version"] for part in message.iter_parts()] == [None, None]
    assert [part["Content-Transfer-Encoding"] for part in message.iter_parts()] == ["quoted-printable"] * 2


def test_a_line_break_in_a_header_fails_the_message_and_sends_nothing(app, smtp, campaign, factory, db):
    factory.project(campaign, contacts=("a@one.example",))
    campaign_of(db, campaign).title = "Clas 2023-2024\nBcc: someone@else.example"
    db.commit()
    result = cli(app, "send-invitations", CODE)
    assert "Envoyés : 0. Échecs : 1." in result.output
    assert smtp.messages == []
    (log,) = logs(db)
    assert log.status is EmailStatus.FAILED
    assert log.error == "message impossible à composer : saut de ligne dans l'en-tête Subject"


def test_an_address_with_accents_leaves_only_through_a_server_offering_smtputf8(app, smtp, campaign, factory, db):
    factory.project(campaign, contacts=("andré@asso.example", "b@one.example"))
    result = cli(app, "send-invitations", CODE)
    # This server does not offer SMTPUTF8: that message fails, with the reason; the other one leaves.
    assert "Envoyés : 1. Échecs : 1." in result.output
    assert [m["To"] for m in smtp.messages] == ["b@one.example"]
    (failed,) = [log for log in logs(db) if log.status is EmailStatus.FAILED]
    assert failed.contact.email == "andré@asso.example" and "SMTPUTF8" in failed.error
    # One that offers it receives the message, the address intact.
    international = SmtpServer(smtputf8=True).start()
    try:
        app.config["SMTP_PORT"] = international.port
        retried = cli(app, "send-invitations", CODE, "--retry-failed")
        assert "Envoyés : 1. Échecs : 0." in retried.output
        (message,) = international.messages
        assert message["To"] == "andré@asso.example"
        assert message["Subject"] == "Clas 2023-2024 : bilan qualitatif – votre lien personnel"
        assert LINK.search(text_of(message))
    finally:
        international.stop()
    assert {log.status for log in logs(db)} == {EmailStatus.SENT}


def test_a_caf_invites_only_its_own_projects(app, smtp, campaign, factory):
    factory.project(campaign, contacts=("savoie@one.example",))
    factory.project(campaign, contacts=("haute-savoie@two.example",), caf_number="741", caf_name="Caf 741")
    assert cli(app, "send-invitations", CODE, "--caf", "741").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["haute-savoie@two.example"]
    unknown = cli(app, "send-invitations", CODE, "--caf", "999")
    assert unknown.exit_code == 1 and "Aucune Caf n'a le numéro 999" in unknown.output


def test_invitations_are_refused_once_the_campaign_has_closed(app, smtp, campaign, factory, clock, db):
    factory.project(campaign, contacts=("a@one.example",))
    clock.now = datetime(2024, 7, 15, 21, 59, 59, tzinfo=UTC)  # the last second: still sent
    assert cli(app, "send-invitations", CODE, "--dry-run").exit_code == 0
    clock.now = datetime(2024, 7, 15, 22, 0, 0, tzinfo=UTC)
    refused = cli(app, "send-invitations", CODE)
    assert refused.exit_code == 1
    assert "est close depuis le lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in refused.output
    assert smtp.messages == [] and logs(db) == []


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
    assert "Simulation : 2 messages seraient envoyés" in result.output
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


def test_a_crash_mid_run_then_a_rerun_sends_the_rest_and_the_interrupted_one_only_after_the_delay(
        app, smtp, campaign, factory, db, monkeypatch):
    contacts = [f"c{number}@one.example" for number in range(5)]
    factory.project(campaign, contacts=contacts)
    handed_over = []
    deliver = mail.Postman.send

    def crash_on_the_third(postman, message):
        if len(handed_over) == 2:
            handed_over.append(message["Message-ID"])
            raise KeyboardInterrupt  # the process dies while talking to the server
        handed_over.append(message["To"])
        deliver(postman, message)

    monkeypatch.setattr(mail.Postman, "send", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        in_app(app, lambda db: send_invitations(db, campaign_of(db, campaign), app.config["FROZEN_NOW"]()))
    assert [m["To"] for m in smtp.messages] == contacts[:2]
    statuses = [log.status for log in logs(db)]
    assert statuses == [EmailStatus.SENT] * 2 + [EmailStatus.SENDING] + [EmailStatus.PENDING] * 2
    interrupted = logs(db)[2]
    assert interrupted.message_id == handed_over[2] and interrupted.attempts == 1

    monkeypatch.setattr(mail.Postman, "send", deliver)
    result = cli(app, "send-invitations", CODE)
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in smtp.messages] == contacts[:2] + contacts[3:]
    assert "1 message est « en cours d'envoi » par un autre envoi : s'il y reste 10 minutes" in result.output
    assert "c2@one.example" in result.output and handed_over[2] in result.output
    # Not even on request, while its sender may still be at work.
    assert cli(app, "send-invitations", CODE, "--retry-failed").exit_code == 0
    assert len(smtp.messages) == 4
    # Ten minutes on, it was a crash: the safety net sends it again, under the same Message-ID.
    db.execute(update(EmailLog).where(EmailLog.id == interrupted.id)
               .values(attempted_at=interrupted.attempted_at - timedelta(seconds=601)))
    db.commit()
    result = cli(app, "send-pending-emails")
    assert result.exit_code == 0, result.output
    assert "1 message laissé « en cours d'envoi » par un envoi interrompu a été renvoyé" in result.output
    assert [m["To"] for m in smtp.messages][4:] == ["c2@one.example"]
    assert smtp.messages[4]["Message-ID"] == handed_over[2]
    (again,) = logs(db, id=interrupted.id)
    assert (again.status, again.attempts, again.message_id) == (EmailStatus.SENT, 2, handed_over[2])


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
