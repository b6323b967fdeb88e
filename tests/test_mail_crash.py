"""At least once: a sender killed in the middle of an SMTP exchange, and its message sent again with its Message-ID."""
import asyncio
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from survey.mail import messages
from survey.mail.delivery import deliver_due
from survey.mail.rounds import invitation_round, plan
from survey.models import EmailStatus
from tests.mail_support import campaign_of, in_app, logs
from tests.smtp import Mailbox, SmtpServer

ROOT = Path(__file__).parent.parent


class HangingMailbox(Mailbox):
    """Takes in the first message whole, then never answers; accepts the next ones."""

    def __init__(self):
        super().__init__()
        self.hanging = threading.Event()
        self.released = False
        self.unanswered = []

    async def handle_DATA(self, server, session, envelope):
        if not self.unanswered:
            self.unanswered.append(message_from_bytes(envelope.content, policy=policy.default))
            self.hanging.set()
            while not self.released:
                await asyncio.sleep(0.05)
            return "451 4.3.0 Too late"
        return await super().handle_DATA(server, session, envelope)


def test_a_sender_killed_mid_send_leaves_its_row_sending_and_another_process_sends_it_again_after_the_delay(
        app, campaign, factory, db, clock, database_url):
    server = SmtpServer()
    server.mailbox = HangingMailbox()
    server.controller = Controller(server.mailbox, hostname="127.0.0.1", port=server.port)
    server.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5, MAIL_PER_SECOND=0,
                      BASE_URL="http://bilan.test", MAIL_FROM="bilan-clas@caf.example", MAIL_RESEND_AFTER_SECONDS=3)
    try:
        factory.project(campaign, contacts=("a@one.example",))
        in_app(app, lambda db: plan(db, invitation_round(campaign_of(db, campaign)), clock.now))
        worker = subprocess.Popen([sys.executable, "-m", "tests.mail_worker", database_url, str(server.port)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            # The worker's outbox found the row by itself and is in the middle of the exchange.
            assert server.mailbox.hanging.wait(60), worker.stdout.read().decode() if worker.poll() is not None else ""
            (row,) = logs(db)
            (unanswered,) = server.mailbox.unanswered
            assert (row.status, row.attempts, row.message_id) == (EmailStatus.SENDING, 1, unanswered["Message-ID"])
            killed_at = time.monotonic()
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=30)
            worker.stdout.close()
        assert server.messages == []

        # This process's outbox, right away: the row's sender might still be at work, it waits.
        outbox = app.extensions["outbox"]
        outbox.wake()
        assert outbox.drain(10)
        (row,) = logs(db)
        assert row.status is EmailStatus.SENDING and server.messages == []

        # Once the delay has passed, its polling sends it again, under the same Message-ID.
        app.config["OUTBOX_POLL_SECONDS"] = 0.1
        outbox.wake()
        deadline = time.monotonic() + 20
        while logs(db)[0].status is not EmailStatus.SENT:
            assert time.monotonic() < deadline, "never sent again"
            time.sleep(0.05)
        assert time.monotonic() - killed_at >= 2.5  # not before the delay (3 s after the claim)
        (message,) = server.messages
        assert message["To"] == "a@one.example" and message["Message-ID"] == unanswered["Message-ID"]
        (row,) = logs(db)
        assert (row.status, row.attempts, row.message_id, row.error) == (
            EmailStatus.SENT, 2, unanswered["Message-ID"], None)
    finally:
        server.mailbox.released = True
        server.stop()


def test_a_sender_slower_than_the_delay_does_not_undo_what_the_one_that_took_over_recorded(
        app, smtp, campaign, factory, db, clock, monkeypatch):
    factory.project(campaign, contacts=("a@one.example",))
    in_app(app, lambda db: plan(db, invitation_round(campaign_of(db, campaign)), clock.now))
    app.config["MAIL_RESEND_AFTER_SECONDS"] = 0  # any row "sending" may be taken over at once
    really_send, stalled, reports = messages.Postman.send, [], []

    def stalls_then_breaks(postman, message):
        if stalled:  # the sender that took over
            return really_send(postman, message)
        stalled.append(message["Message-ID"])
        reports.append(in_app(app, lambda db: deliver_due(db, clock.now)))  # another sender, meanwhile
        raise ConnectionResetError("the first sender's connection broke")
    monkeypatch.setattr(messages.Postman, "send", stalls_then_breaks)
    first = in_app(app, lambda db: deliver_due(db, clock.now))
    (other,) = reports
    assert (other.sent, other.resent, first.sent, first.failed) == (1, 1, 0, [])
    (message,) = smtp.messages
    assert message["Message-ID"] == stalled[0]
    (row,) = logs(db)
    assert (row.status, row.attempts, row.error, row.message_id) == (EmailStatus.SENT, 2, None, stalled[0])
