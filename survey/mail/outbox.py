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
"""
import atexit
import logging
import threading
import time

from .messages import Throttle

logger = logging.getLogger(__name__)


class Outbox:
    """This process's sender: :meth:`wake` after a commit that planned emails, :meth:`drain` in tests, :meth:`stop` at exit."""

    def __init__(self, app):
        self.app = app
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self._throttle = Throttle(app.config["MAIL_PER_SECOND"])
        self._changed = threading.Condition()
        self._asked = 0  # wakes so far
        self._served = 0  # wakes a finished pass began after
        self._exit_hook = False

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

    def start(self):
        """Start this process's sending thread if it is not running (after the fork, on first use)."""
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

    def _send_due(self):
        from .. import clock
        from ..db import get_session
        from .delivery import deliver_due
        try:
            with self.app.app_context():
                report = deliver_due(get_session(), clock.now(), throttle=self.throttle, stop=self.stopping.is_set)
                for log in report.failed:
                    logger.warning("%s email %s to %s failed: %s", log.kind.value, log.id, log.contact.email, log.error)
        except Exception:  # noqa: BLE001 - the thread must outlive any one pass (the database restarting...)
            logger.exception("the outbox's pass stopped; what is pending waits for the next one")
            return
        if report.unavailable:
            logger.warning("SMTP server unavailable, emails stay pending: %s", report.unavailable)
