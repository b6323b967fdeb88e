"""The node's sender process, in-process: it holds due emails back while the node's cores are busy (at most
``patience`` seconds in a row) and reads that from Linux's CPU pressure."""
import os
import threading
import time

from survey.mail.sender import CpuPressure
from survey.models import EmailStatus
from tests.mail_support import logs
from tests.test_mail_sending import contacts_of, plan_invitations, slow_smtp, wait_for  # noqa: F401 - slow_smtp: a fixture


def serving(app, busy, patience):
    """The app's outbox serving from a thread as the sender process does; returns (thread, wake end, stop)."""
    wake_r, wake_w = os.pipe()
    for end in (wake_r, wake_w):
        os.set_blocking(end, False)
    outbox = app.extensions["outbox"]
    thread = threading.Thread(target=outbox.serve, args=(wake_r,), kwargs={"busy": busy, "patience": patience})
    thread.start()

    def stop():
        outbox.stopping.set()
        thread.join(5)
        os.close(wake_r)
        os.close(wake_w)
        assert not thread.is_alive()
    return wake_w, stop


def test_due_emails_wait_while_the_cores_are_busy_and_leave_once_they_are_free(app, slow_smtp, campaign, factory,  # noqa: F811
                                                                                 db, clock):
    app.config["OUTBOX_POLL_SECONDS"] = 60
    cores = {"busy": True}
    wake, stop = serving(app, lambda: cores["busy"], patience=60)
    try:
        addresses = contacts_of(factory, campaign, 3)
        plan_invitations(app, campaign, clock)
        os.write(wake, b"!")  # a page's wake, during a rush
        time.sleep(1.5)  # several looks at the cores
        assert slow_smtp.messages == [] and {log.status for log in logs(db)} == {EmailStatus.PENDING}
        cores["busy"] = False
        wait_for(lambda: len(slow_smtp.messages) == 3, seconds=5)  # without another wake, well before the poll
        assert sorted(m["To"] for m in slow_smtp.messages) == sorted(addresses)
    finally:
        stop()


def test_a_pass_stops_between_two_emails_when_the_cores_get_busy(app, slow_smtp, campaign, factory, db, clock):  # noqa: F811
    app.config["OUTBOX_POLL_SECONDS"] = 60
    # Free until two emails have left: then busy (a rush begins), checked before each email.
    wake, stop = serving(app, lambda: len(slow_smtp.messages) >= 2, patience=60)
    try:
        contacts_of(factory, campaign, 8)
        plan_invitations(app, campaign, clock)
        os.write(wake, b"!")
        wait_for(lambda: len(slow_smtp.messages) >= 2, seconds=5)
        time.sleep(1)
        assert len(slow_smtp.messages) == 2
        assert [log.status for log in logs(db)].count(EmailStatus.PENDING) == 6
    finally:
        stop()


def test_busy_cores_hold_emails_back_for_patience_seconds_at_most(app, slow_smtp, campaign, factory, db, clock):  # noqa: F811
    app.config["OUTBOX_POLL_SECONDS"] = 60
    wake, stop = serving(app, lambda: True, patience=1)  # a rush that never lets up
    try:
        contacts_of(factory, campaign, 4)
        plan_invitations(app, campaign, clock)
        started = time.monotonic()
        os.write(wake, b"!")
        wait_for(lambda: len(slow_smtp.messages) == 4, seconds=10)
        assert time.monotonic() - started >= 0.9  # held back first, then the whole pass at once
        # The sink has the last message a moment before the sender records it as sent.
        wait_for(lambda: {log.status for log in logs(db)} == {EmailStatus.SENT}, seconds=5)
    finally:
        stop()


def test_cpu_pressure_reads_how_long_tasks_waited_for_a_core(tmp_path):
    pressure = tmp_path / "cpu"

    def waited(microseconds):
        pressure.write_text(f"some avg10=0.00 avg60=0.00 avg300=0.00 total={microseconds}\n"
                            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    waited(1_000_000)
    CpuPressure.PATH = str(pressure)
    try:
        busy = CpuPressure(threshold=0.10, window=0.05)
        assert not busy()  # nothing waited yet
        time.sleep(0.1)
        waited(1_000_000 + 90_000)  # tasks waited 90 ms of the last 100 (or a bit more)
        assert busy()
        time.sleep(0.1)
        waited(1_000_000 + 90_000 + 2_000)  # 2 ms of the next 100
        assert not busy()
        CpuPressure.PATH = str(tmp_path / "missing")  # an older kernel, or PSI switched off
        assert not CpuPressure()()
    finally:
        CpuPressure.PATH = "/proc/pressure/cpu"


def serving_until_idle(app, wake_r, **options):
    """The outbox's :meth:`serve` in a thread; returns (thread, {"idle": what serve returned, "at": when})."""
    ended = {}

    def run():
        ended["idle"] = app.extensions["outbox"].serve(wake_r, **options)
        ended["at"] = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    return thread, ended


def test_a_sender_forked_for_a_poll_leaves_at_once_when_nothing_is_due(app):
    app.config["OUTBOX_POLL_SECONDS"] = 60
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    try:
        started = time.monotonic()
        thread, ended = serving_until_idle(app, wake_r, idle_after=30, woken=False)
        thread.join(10)
        assert ended.get("idle") is True
        assert ended["at"] - started < 5  # after its one pass, not 30 s later
    finally:
        app.extensions["outbox"].stopping.set()
        thread.join(5)
        os.close(wake_r)
        os.close(wake_w)


def test_a_woken_sender_sends_then_leaves_after_idle_seconds_without_a_wake(app, slow_smtp, campaign, factory,  # noqa: F811
                                                                            db, clock):
    app.config["OUTBOX_POLL_SECONDS"] = 60
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    try:
        contacts_of(factory, campaign, 3)
        plan_invitations(app, campaign, clock)
        os.write(wake_w, b"!")
        thread, ended = serving_until_idle(app, wake_r, idle_after=1.5, woken=True)
        wait_for(lambda: len(slow_smtp.messages) == 3, seconds=10)
        time.sleep(0.8)
        assert thread.is_alive()  # idle for less than 1.5 s
        woken_again = time.monotonic()
        os.write(wake_w, b"!")  # a page's wake with nothing new: the sender stays 1.5 s more
        thread.join(10)
        assert ended.get("idle") is True
        assert ended["at"] - woken_again >= 1.4
        assert {log.status for log in logs(db)} == {EmailStatus.SENT}
    finally:
        app.extensions["outbox"].stopping.set()
        thread.join(5)
        os.close(wake_r)
        os.close(wake_w)


def test_a_sender_asked_to_stop_is_not_idle(app):
    app.config["OUTBOX_POLL_SECONDS"] = 60
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    try:
        thread, ended = serving_until_idle(app, wake_r, idle_after=30, woken=True)
        time.sleep(0.5)
        app.extensions["outbox"].stopping.set()
        thread.join(5)
        assert ended.get("idle") is False
    finally:
        os.close(wake_r)
        os.close(wake_w)
