"""Receipts leave in the background: one thread per server process sends those the transmissions planned.

A transmission commits its receipt rows (``pending``) with itself, then hands
the response to this outbox and answers at once: neither the partner nor the
other partners waiting for a worker wait for the SMTP exchange. A process
that stops lets its thread finish the receipt it is sending, and leaves the
ones not started ``pending``; those, and anything a crash left, go with
``send-pending-emails`` (run it from cron).
"""
import atexit
import logging
import queue
import threading
import time

logger = logging.getLogger(__name__)


class Outbox:
    def __init__(self, app):
        self.app = app
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def post(self, response_id: int):
        """Send the receipt of ``response_id`` soon, from this process's sending thread."""
        self._start()
        self.queue.put(response_id)

    def wake(self):
        """STUB (branch mailweb) until the outbox helper's version: send every pending row soon."""
        self._start()
        self.queue.put(None)

    def _start(self):
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                # Started on first use: in each server process, after the fork.
                self.thread = threading.Thread(target=self._run, name="receipts", daemon=True)
                self.thread.start()
                atexit.register(self.stop)

    def stop(self, timeout: float = 25):
        """At exit: send nothing new, let the receipt being sent finish (gunicorn kills at 30 s)."""
        self.stopping.set()
        self.drain(timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until everything posted has been handled; False if ``timeout`` seconds were not enough."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self):
        from .. import clock
        from ..db import get_session
        from .occasions import send_receipt
        from .rounds import deliver, pending_logs
        while True:
            response_id = self.queue.get()
            if self.stopping.is_set():  # left pending: send-pending-emails sends it
                self.queue.task_done()
                continue
            try:
                with self.app.app_context():
                    if response_id is None:  # STUB (branch mailweb): wake() sends every pending row
                        db = get_session()
                        deliver(db, list(db.scalars(pending_logs())), clock.now(), stop_when_unavailable=False)
                    else:
                        send_receipt(get_session(), response_id, clock.now())  # records its own failures
            except Exception:  # noqa: BLE001 - the thread must outlive any one receipt
                logger.exception("receipt of response %s not sent; it stays pending", response_id)
            finally:
                self.queue.task_done()
