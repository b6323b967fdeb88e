"""Sending in the background: each process's outbox sends every pending row, senders never share a row."""
import asyncio
import os
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, select

from survey.db import get_session
from survey.mail.delivery import deliver_due
from survey.mail.occasions import plan_notice
from survey.mail.outbox import Outbox
from survey.mail.rounds import invitation_round, plan, round_progress
from survey.models import EmailKind, EmailLog, EmailStatus, Response
from tests.mail_support import campaign_of, cli, in_app, logs, set_state
from tests.smtp import Mailbox, SmtpServer, free_port


class SlowMailbox(Mailbox):
    """Takes ``delay`` seconds to accept each message: senders overlap."""

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp(app):
    server = SmtpServer()
    server.mailbox = SlowMailbox(0.02)
    server.controller = Controller(server.mailbox, hostname="127.0.0.1", port=server.port)
    server.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5, MAIL_PER_SECOND=0,
                      BASE_URL="http://bilan.test", MAIL_FROM="bilan-clas@caf.example")
    yield server
    server.stop()


def contacts_of(factory, campaign, count, caf_number="731"):
    addresses = [f"c{number:02d}-{caf_number}@one.example" for number in range(count)]
    for start in range(0, count, 4):  # four contacts a project
        factory.project(campaign, contacts=addresses[start:start + 4], caf_number=caf_number)
    return addresses


def plan_invitations(app, campaign, clock) -> int:
    return in_app(app, lambda db: plan(db, invitation_round(campaign_of(db, campaign)), clock.now))


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def test_a_page_plans_a_round_wakes_the_outbox_and_returns_while_it_sends(app, slow_smtp, campaign, factory, db,
                                                                           clock):
    addresses = contacts_of(factory, campaign, 8)
    submitted, _ = factory.project(campaign, contacts=("transmis@two.example",))
    set_state(db, submitted, "submitted", clock.now)
    assert plan_invitations(app, campaign, clock) == 8
    # A transmission commits its receipt after the round was planned: it leaves first all the same.
    plan_notice(db, db.get(Response, submitted), EmailKind.RECEIPT, "BQ-T1", clock.now)
    db.commit()
    outbox = app.extensions["outbox"]
    started = time.monotonic()
    outbox.wake()  # what the page does after its commit
    assert time.monotonic() - started < 0.1  # the 9 messages take at least 0.18 s to accept
    assert outbox.drain(20)
    assert [m["To"] for m in slow_smtp.messages] == ["transmis@two.example"] + addresses
    progress = in_app(app, lambda db: round_progress(db, invitation_round(campaign_of(db, campaign))))
    assert (progress.sent, progress.pending, progress.total, progress.finished) == (8, 0, 8, True)
    assert {(log.status, log.attempts) for log in logs(db)} == {(EmailStatus.SENT, 1)}


def test_the_outbox_finds_by_itself_what_another_process_planned(app, slow_smtp, campaign, factory, db, clock):
    outbox = app.extensions["outbox"]
    outbox.start_polling()  # a request's hook: without polling, no thread
    assert outbox.thread is None
    app.config["OUTBOX_POLL_SECONDS"] = 0.1
    outbox.start_polling()
    assert outbox.thread.is_alive()
    addresses = contacts_of(factory, campaign, 3)
    plan_invitations(app, campaign, clock)  # no wake: as if another node had planned them
    wait_for(lambda: len(slow_smtp.messages) == 3)
    assert sorted(m["To"] for m in slow_smtp.messages) == sorted(addresses)
    wait_for(lambda: {log.status for log in logs(db)} == {EmailStatus.SENT})
    assert outbox.stop(10) and not outbox.thread.is_alive()


def test_a_process_that_handed_its_sending_over_wakes_the_sender_through_a_pipe_and_sends_nothing_itself(
        app, slow_smtp, campaign, factory, db, clock):
    app.config["OUTBOX_POLL_SECONDS"] = 60  # the sender's own polling cannot be what sends below
    wake_r, wake_w = os.pipe()
    for end in (wake_r, wake_w):
        os.set_blocking(end, False)
    worker = Outbox(app)  # a gunicorn worker's outbox under deploy/gunicorn.conf.py
    worker.hand_over(wake_w)
    sender = app.extensions["outbox"]  # the node's sender process's
    serving = threading.Thread(target=sender.serve, args=(wake_r,))
    serving.start()
    try:
        time.sleep(0.3)  # its first pass, at once, finds nothing
        addresses = contacts_of(factory, campaign, 3)
        plan_invitations(app, campaign, clock)
        worker.start_polling()
        worker.wake()  # what a page does after its commit
        assert worker.thread is None  # it sends nothing itself
        wait_for(lambda: len(slow_smtp.messages) == 3, seconds=10)
        assert sorted(m["To"] for m in slow_smtp.messages) == sorted(addresses)
    finally:
        sender.stopping.set()
        serving.join(5)
    assert not serving.is_alive()  # a stop request is seen within a second, no byte needed
    while True:  # a sender long at work (or restarting) leaves its pipe full: a page's wake must not fail nor wait
        try:
            os.write(wake_w, b"!" * 4096)
        except BlockingIOError:
            break
    started = time.monotonic()
    worker.wake()
    assert time.monotonic() - started < 0.1
    os.close(wake_r)
    os.close(wake_w)


def test_with_the_server_down_the_outbox_keeps_the_rows_pending_and_sends_them_once_it_is_back(
        app, slow_smtp, campaign, factory, db, clock):
    addresses = contacts_of(factory, campaign, 2)
    plan_invitations(app, campaign, clock)
    app.config["SMTP_PORT"] = free_port()
    outbox = app.extensions["outbox"]
    outbox.wake()
    assert outbox.drain(10)
    assert [log.status for log in logs(db)] == [EmailStatus.PENDING] * 2
    assert "serveur SMTP" in logs(db)[0].error and logs(db)[0].attempts == 0
    app.config["SMTP_PORT"] = slow_smtp.port
    outbox.wake()
    assert outbox.drain(10)
    assert [m["To"] for m in slow_smtp.messages] == addresses
    assert [(log.status, log.error) for log in logs(db)] == [(EmailStatus.SENT, None)] * 2


def test_a_stopped_outbox_sends_nothing_more_and_leaves_no_thread(app, slow_smtp, campaign, factory, db, clock):
    outbox = app.extensions["outbox"]
    outbox.wake()
    assert outbox.drain(10) and outbox.thread.is_alive()
    assert outbox.stop(10) and not outbox.thread.is_alive()
    contacts_of(factory, campaign, 1)
    plan_invitations(app, campaign, clock)
    outbox.wake()  # a request served while the process exits
    assert outbox.drain(1) and not outbox.thread.is_alive()
    assert slow_smtp.messages == [] and [log.status for log in logs(db)] == [EmailStatus.PENDING]


def test_the_outbox_keeps_the_process_pace_from_one_pass_to_the_next(app, slow_smtp, campaign, factory, db, clock):
    slow_smtp.mailbox.delay = 0
    arrivals = []
    handle = slow_smtp.mailbox.handle_DATA

    async def timed(server, session, envelope):
        arrivals.append(time.monotonic())
        return await handle(server, session, envelope)
    slow_smtp.mailbox.handle_DATA = timed
    app.config["MAIL_PER_SECOND"] = 2
    outbox = app.extensions["outbox"]
    for caf_number in ("701", "711"):
        contacts_of(factory, campaign, 3, caf_number=caf_number)
    for caf_number in ("701", "711"):  # two Cafs' pages, one right after the other, each with its round
        in_app(app, lambda db, caf_number=caf_number: plan(db, invitation_round(campaign_of(db, campaign), caf_number), clock.now))
        outbox.wake()
        assert outbox.drain(10)
    assert len(arrivals) == 6
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) > 0.3, gaps  # 2 a second (0.5 s apart, give or take the exchange), the second pass's first message included


def run_senders(app, clock, count):
    """``count`` senders at once, each with its own database session, as threads of different processes would."""
    ready, reports, errors = threading.Barrier(count), [], []

    def sender():
        try:
            with app.app_context():
                ready.wait()
                reports.append(deliver_due(get_session(), clock.now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=sender) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return reports


def test_two_senders_at_once_never_send_the_same_row(app, slow_smtp, campaign, factory, db, clock):
    addresses = contacts_of(factory, campaign, 24)
    plan_invitations(app, campaign, clock)
    reports = run_senders(app, clock, 2)
    # Each took its share; together, every row exactly once.
    assert sorted(report.sent for report in reports)[0] > 0 and sum(report.sent for report in reports) == 24
    assert sorted(m["To"] for m in slow_smtp.messages) == sorted(addresses)
    assert len({m["Message-ID"] for m in slow_smtp.messages}) == 24
    rows = logs(db)
    assert {(log.status, log.attempts) for log in rows} == {(EmailStatus.SENT, 1)}
    assert sorted(log.message_id for log in rows) == sorted(m["Message-ID"] for m in slow_smtp.messages)


def test_on_postgresql_a_sender_skips_a_row_another_holds_instead_of_waiting(app, slow_smtp, campaign, factory, db,
                                                                            clock, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has a single writer")
    first, second = contacts_of(factory, campaign, 2)
    plan_invitations(app, campaign, clock)
    holder = app.extensions["db_sessionmaker"]()
    held = holder.scalar(select(EmailLog.id).order_by(EmailLog.id).limit(1).with_for_update())
    try:
        reports = []
        sender = threading.Thread(target=lambda: reports.append(in_app(app, lambda db: deliver_due(db, clock.now))))
        sender.start()
        sender.join(10)
        blocked = sender.is_alive()
    finally:
        holder.rollback()
        holder.close()
    sender.join(10)
    assert not blocked, "the sender waited for the locked row"
    assert [m["To"] for m in slow_smtp.messages] == [second] and reports[0].sent == 1
    assert [(log.id == held, log.contact.email, log.status) for log in logs(db)] == [
        (True, first, EmailStatus.PENDING), (False, second, EmailStatus.SENT)]


def test_the_safety_net_sends_what_is_pending_in_every_campaign_or_in_one(app, smtp, factory, db, clock):
    first, second = factory.campaign(code="clas-premiere"), factory.campaign(code="clas-seconde")
    factory.project(first, contacts=("premiere@one.example",))
    factory.project(second, contacts=("seconde@two.example",))
    for campaign in (first, second):
        plan_invitations(app, campaign, clock)
    unknown = cli(app, "send-pending-emails", "clas-inconnue")
    assert unknown.exit_code == 1 and "Aucune campagne n'a le code clas-inconnue." in unknown.output
    preview = cli(app, "send-pending-emails", "--dry-run")
    assert "2 messages seraient envoyés" in preview.output and smtp.messages == []
    assert cli(app, "send-pending-emails", "clas-seconde").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["seconde@two.example"]
    assert cli(app, "send-pending-emails").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["seconde@two.example", "premiere@one.example"]


def test_a_pass_with_nothing_left_to_send_runs_one_statement_not_one_per_group(app, smtp, campaign, factory, clock):
    # Most passes find nothing (after a receipt, at each idle poll): one look at the statuses, not seven searches.
    contacts_of(factory, campaign, 2)
    plan_invitations(app, campaign, clock)
    statements = []
    event.listen(app.extensions["db_engine"], "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    assert in_app(app, lambda db: deliver_due(db, clock.now).sent) == 2 and len(smtp.messages) == 2
    statements.clear()
    assert in_app(app, lambda db: deliver_due(db, clock.now).sent) == 0
    assert len(statements) == 1 and "email_log" in statements[0]
