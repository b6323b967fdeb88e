"""Every email leaves in the background: one thread per server process sends what the database holds pending.

A view commits its rows (a transmission's receipts, a round a Caf planned),
wakes this outbox and answers at once: nobody waits for the SMTP exchange.
The thread also looks for due rows by itself every ``OUTBOX_POLL_SECONDS``
(0: only when woken), so rows planned by another process, left by one that
stopped, or left ``sending`` by one that died (after
``MAIL_RESEND_AFTER_SECONDS``) leave without any cron job. The processes of
every node share the rows through :mod:`.delivery`, never two on one row,
and each keeps to ``MAIL_PER_SECOND``. ``send-pending-emails`` is a safety
net doing the same pass once.

Under ``deploy/gunicorn.conf.py`` the workers hand their sending over to
the node's sender process (:mod:`.sender`): :meth:`Outbox.hand_over`, then
a wake is a byte written to that process's pipe, which :meth:`Outbox.serve`
reads.
"""
import atexit
import logging
import os
import select
import threading
import time

from .messages import Throttle

logger = logging.getLogger(__name__)


class Outbox:
    """This process's sender: :meth:`wake` after a commit that planned emails, :meth:`drain` in tests, :meth:`stop` at exit."""

    BUSY_LOOK_AGAIN_SECONDS = 0.25  # how soon :meth:`serve` looks again whether the cores are still busy

    def __init__(self, app):
        self.app = app
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self._throttle = Throttle(app.config["MAIL_PER_SECOND"])
        self._changed = threading.Condition()
        self._asked = 0  # wakes so far
        self._served = 0  # wakes a finished pass began after
        self._exit_hook = False
        self._handed_over: int | None = None  # the sender process's wake pipe, once this process sends nothing

    @property
    def throttle(self) -> Throttle:
        """The process's pace, the same for every pass (a new one if the setting changed)."""
        per_second = self.app.config["MAIL_PER_SECOND"]
        if self._throttle.per_second != per_second:
            self._throttle = Throttle(per_second)
        return self._throttle

    @property
    def poll_seconds(self) -> float:
        return self.app.config["OUTBOX_POLL_SECONDS"]

    def hand_over(self, wake_fd: int):
        """From now on another process sends (the node's sender): a wake writes a byte to ``wake_fd``."""
        self._handed_over = wake_fd

    def start(self):
        """Start this process's sending thread if it is not running (after the fork, on first use)."""
        if self._handed_over is not None:
            return
        if self.thread is not None and self.thread.is_alive() or self.stopping.is_set():
            return
        with self._changed:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self.thread.start()
            if not self._exit_hook:
                atexit.register(self.stop)
                self._exit_hook = True

    def start_polling(self):
        """Before each request: make sure a process that polls has its thread (a no-op once it runs)."""
        if self.poll_seconds > 0:
            self.start()

    def wake(self):
        """Send soon what was just planned and committed; returns at once."""
        if self._handed_over is not None:
            try:
                os.write(self._handed_over, b"!")
            except OSError:  # the pipe full (the sender is at work) or the sender restarting: its polling finds it
                pass
            return
        with self._changed:
            self._asked += 1
            if self.stopping.is_set():  # a process that exits leaves it pending, for another one
                self._served = self._asked
            self._changed.notify_all()
        self.start()

    def post(self, response_id: int | None = None):
        """The receipt (or notice) of ``response_id`` was committed: send it soon, before any round's rows."""
        self.wake()

    def drain(self, timeout: float) -> bool:
        """Wait until a pass begun after every wake so far has finished; False after ``timeout`` seconds.

        Rows the pass could not send (the SMTP server down) stay pending; the drain does not wait for them.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            wanted = self._asked
            while self._served < wanted:
                left = deadline - time.monotonic()
                if left <= 0 or self.thread is None or not self.thread.is_alive():
                    return self._served >= wanted
                self._changed.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float = 25) -> bool:
        """At exit: send nothing new, let the message being sent finish (gunicorn kills at 30 s)."""
        with self._changed:
            self.stopping.set()
            self._changed.notify_all()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def serve(self, wake_fd: int, alive=lambda: True, busy=lambda: False, patience: float = 60,
              idle_after: float = 0, woken: bool = True) -> bool:
        """Send from this thread until stopped or ``alive()`` is false: as soon as a byte arrives on
        ``wake_fd`` (non-blocking), and every ``OUTBOX_POLL_SECONDS`` otherwise. The node's sender process.

        While ``busy()`` (the node's cores are wanted by its pages), due emails wait, a pass stops between
        two of them, for at most ``patience`` seconds in a row; then one whole pass sends what is due.

        With ``idle_after``, returns True once that many seconds have passed without a wake nor an email
        to send (at once after a first pass that found none, unless ``woken``): the sender has no more
        reason to hold its memory.
        """
        next_pass = 0.0  # a pass at once: what was pending while no sender ran
        waiting_since = None  # when busy cores began holding back what is due
        last_work = time.monotonic() if woken else float("-inf")  # the last wake, or the last pass with emails
        while not self.stopping.is_set() and alive():
            now = time.monotonic()
            if idle_after > 0 and next_pass > 0 and now - last_work >= idle_after:
                return True
            # At least every second: the parent's death and a stop request are noticed within it.
            ready, _, _ = select.select([wake_fd], [], [], min(1.0, max(0.0, next_pass - now)))
            if ready:
                try:
                    while os.read(wake_fd, 4096):
                        pass
                except BlockingIOError:
                    pass
                next_pass = 0.0
                last_work = time.monotonic()
            if self.stopping.is_set():
                return False
            now = time.monotonic()
            if now < next_pass:
                continue
            overdue = waiting_since is not None and now - waiting_since >= patience
            if overdue or not busy():
                held_back, worked = self._send_due(None if overdue else busy)
            else:
                held_back, worked = True, True
            if worked:
                last_work = time.monotonic()
            if held_back:
                waiting_since = now if waiting_since is None else waiting_since
                next_pass = now + self.BUSY_LOOK_AGAIN_SECONDS
            else:
                waiting_since = None
                next_pass = time.monotonic() + self.poll_seconds if self.poll_seconds > 0 else float("inf")
        return False

    def _run(self):
        while True:
            with self._changed:
                if self._served >= self._asked and not self.stopping.is_set():
                    self._changed.wait(self.poll_seconds if self.poll_seconds > 0 else None)
                if self.stopping.is_set():
                    self._served = self._asked
                    self._changed.notify_all()
                    return
                asked = self._asked
            self._send_due()
            with self._changed:
                self._served = max(self._served, asked)
                self._changed.notify_all()

    def _send_due(self, busy=None) -> tuple[bool, bool]:
        """One pass over what is due: whether it stopped early because ``busy()`` said so, and whether it found
        emails to send (sent, failed or left pending)."""
        from .. import clock
        from ..db import get_session
        from .delivery import deliver_due
        held_back = []

        def stop():
            if self.stopping.is_set():
                return True
            if busy is not None and busy():
                held_back.append(True)
                return True
            return False
        try:
            with self.app.app_context():
                report = deliver_due(get_session(), clock.now(), throttle=self.throttle, stop=stop)
                for log in report.failed:
                    # By row and contact number: the server's log outlives the purge of the addresses.
                    logger.warning("%s email %s to contact %s failed: %s", log.kind.value, log.id, log.contact_id,
                                   (log.error or "").replace(log.contact.email, "[adresse du contact]"))
        except Exception:  # noqa: BLE001 - the thread must outlive any one pass (the database restarting...)
            logger.exception("the outbox's pass stopped; what is pending waits for the next one")
            return False, True
        if report.unavailable:
            logger.warning("SMTP server unavailable, emails stay pending: %s", report.unavailable)
        worked = bool(held_back or report.sent or report.resent or report.skipped or report.failed or report.unavailable)
        return bool(held_back), worked
