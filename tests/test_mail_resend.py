"""A Caf's failed messages: listed with their reason, put back in line ("Renvoyer"), a round's progress."""
import pytest
from sqlalchemy import select

from survey.errors import DomainError
from survey.mail.occasions import plan_notice, send_receipt
from survey.mail.rounds import failed_logs, invitation_round, reminder_round, resend, round_progress, send_round
from survey.models import Caf, EmailKind, EmailStatus, Response
from tests.mail_support import campaign_of, in_app, logs, set_state


def caf_id(db, number):
    return db.scalar(select(Caf.id).where(Caf.number == number))


@pytest.fixture
def failures(app, smtp, campaign, factory, db, clock):
    """Invitations of two Cafs' projects; the server refuses one address of each."""
    factory.project(campaign, contacts=("ok@savoie.example", "refused@savoie.example"))
    factory.project(campaign, contacts=("refused@annecy.example",), caf_number="741", caf_name="Caf 741")
    for address in ("refused@savoie.example", "refused@annecy.example"):
        smtp.refuse(address, "550 5.1.1 Mailbox unavailable")
    report = in_app(app, lambda db: send_round(db, invitation_round(campaign_of(db, campaign)), clock.now))
    assert report.sent == 1 and len(report.failed) == 2
    smtp.mailbox.refused.clear()
    return {log.contact.email: log for log in logs(db)}


def test_a_cafs_failed_messages_are_listed_with_their_reason_and_only_its_own(app, failures, db):
    savoie = in_app(app, lambda db: failed_logs(db, caf_id(db, "731")))
    assert [(log.contact.email, log.error, log.response.project.reference) for log in savoie] == [
        ("refused@savoie.example", "550 5.1.1 Mailbox unavailable", "P-0002")]
    everyone = in_app(app, lambda db: failed_logs(db, None))
    assert sorted(log.contact.email for log in everyone) == ["refused@annecy.example", "refused@savoie.example"]


def test_renvoyer_puts_a_failed_message_back_in_line_and_the_outbox_sends_it_under_its_message_id(
        app, smtp, failures, db, clock, campaign):
    failed = failures["refused@savoie.example"]

    def put_back(db):
        count = resend(db, caf_id(db, "731"), [failed.id], clock.now)
        db.commit()
        return count
    assert in_app(app, put_back) == 1
    assert logs(db, id=failed.id)[0].status is EmailStatus.PENDING
    assert in_app(app, put_back) == 0  # a second click: already in line, nothing more
    outbox = app.extensions["outbox"]
    outbox.wake()
    assert outbox.drain(10)
    (message,) = smtp.to("refused@savoie.example")
    (row,) = logs(db, id=failed.id)
    assert (row.status, row.attempts, row.error) == (EmailStatus.SENT, 2, None)
    assert message["Message-ID"] == failed.message_id == row.message_id
    progress = in_app(app, lambda db: round_progress(db, invitation_round(campaign_of(db, campaign))))
    assert (progress.sent, progress.failed, progress.pending, progress.total) == (2, 1, 0, 3)
    savoie = in_app(app, lambda db: round_progress(db, invitation_round(campaign_of(db, campaign), "731")))
    assert (savoie.sent, savoie.failed, savoie.finished) == (2, 0, True)


@pytest.mark.parametrize("chosen, reason", [
    (["refused@annecy.example"], "n’existe pas ou ne concerne pas votre Caf"),
    (["refused@savoie.example", "refused@annecy.example"], "n’existe pas ou ne concerne pas votre Caf"),
    (["refused@savoie.example", "ok@savoie.example"], "est déjà parti : il n’est pas renvoyé"),
    ([], "Choisissez au moins un courriel à renvoyer."),
    (["refused@savoie.example", "pas-un-nombre"], "ne sont pas reconnus"),
    (["refused@savoie.example", str(2**31)], "ne sont pas reconnus"),
])
def test_renvoyer_refuses_another_cafs_message_or_a_sent_one_and_changes_nothing(app, failures, db, clock, chosen,
                                                                                 reason):
    ids = [failures[address].id if address in failures else address for address in chosen]
    before = [(log.id, log.status, log.attempts) for log in logs(db)]
    with pytest.raises(DomainError) as refused:
        in_app(app, lambda db: resend(db, caf_id(db, "731"), ids, clock.now))
    assert reason in refused.value.message
    assert [(log.id, log.status, log.attempts) for log in logs(db)] == before
    if len(ids) > 1 and "déjà parti" in reason:
        assert "ok@savoie.example (invitation, P-0002)" in refused.value.message


def test_an_administrator_may_put_back_any_cafs_message(app, failures, db, clock):
    annecy = failures["refused@annecy.example"]
    assert in_app(app, lambda db: resend(db, None, [annecy.id], clock.now)) == 1


def test_renvoyer_refuses_a_message_the_bilan_no_longer_awaits(app, smtp, campaign, factory, db, clock):
    response_id, _ = factory.project(campaign, contacts=("late@savoie.example",))
    smtp.refuse("late@savoie.example", "450 4.2.0 Mailbox busy")
    report = in_app(app, lambda db: send_round(db, reminder_round(campaign_of(db, campaign), 14), clock.now))
    (failed,) = report.failed
    set_state(db, response_id, "submitted", clock.now)  # the partner transmitted meanwhile
    with pytest.raises(DomainError) as refused:
        in_app(app, lambda db: resend(db, caf_id(db, "731"), [failed.id], clock.now))
    assert refused.value.message == ("Le courriel à late@savoie.example (relance, P-0002) n’est pas renvoyé : "
                                     "le bilan n’attend plus de réponse du partenaire (bilan transmis).")
    assert logs(db, id=failed.id)[0].status is EmailStatus.FAILED
    # A receipt, though, can always be sent again.
    plan_notice(db, db.get(Response, response_id), EmailKind.RECEIPT, "BQ-T1", clock.now)
    db.commit()
    receipt = in_app(app, lambda db: send_receipt(db, response_id))
    (failed_receipt,) = receipt.failed

    def put_back(db):
        count = resend(db, caf_id(db, "731"), [failed_receipt.id], clock.now)
        db.commit()
        return count
    assert in_app(app, put_back) == 1
    assert logs(db, id=failed_receipt.id)[0].status is EmailStatus.PENDING
