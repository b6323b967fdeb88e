"""The node's sender: one process, forked by gunicorn's master, sends every email; the workers only serve pages.

A receipt carries the bilan's PDF, about 9 ms of CPU to build (35 before its
texts were drawn as plain lines), and costs the sender about 30 ms in all. Built in a worker's thread, it slowed every
page that worker served during the deadline rush (the rush's throughput fell to 0.6 to 0.8 of the hand-written
baseline's, bench/RESULTS.md). In a process of its own, scheduled only on
idle cores (Linux's ``SCHED_IDLE``; a lower nice value elsewhere), and
holding due emails back while tasks queue for a core (:class:`CpuPressure`,
at most ``DEFER_AT_MOST_SECONDS`` in a row), the sending waits for the
pages: under a rush the receipts leave a few seconds later (the partner
already has the receipt's number on screen), the pages keep their pace
(0.95 to 0.97 of the baseline). The node also keeps a single pace toward
the relay (``MAIL_PER_SECOND``) and the workers never load reportlab for a
receipt.

The master forks the sender after preloading the application (it shares the
master's pages like a worker does) and forks it again if it dies; the
workers wake it through a pipe (:meth:`.outbox.Outbox.hand_over`) and it
also polls every ``OUTBOX_POLL_SECONDS`` for rows planned elsewhere.
Stopped with the master (SIGTERM: it finishes the message in hand), and by
itself within a second if the master disappears.
"""
import logging
import os
import select
import signal
import threading
import time

logger = logging.getLogger(__name__)

NICE = 10  # where SCHED_IDLE is missing: a CPU weight about a tenth of a worker's when every core is busy
PROCESS_NAME = b"clas-sender"  # what ps and top show
RESTART_AFTER_SECONDS = 1.0  # between two starts, at least (a sender that cannot start does not spin)
# A sender that stopped when asked (SIGTERM, often sent to the whole group: systemd, a terminal's Ctrl-C)
# is started again only if the master is still serving after this long.
RESTART_STOPPED_AFTER_SECONDS = 10.0
_STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT")
STOPPED_WHEN_ASKED = 3  # the sender's exit status after a stop request
IDLE = 4  # its exit status after MAIL_SENDER_IDLE_SECONDS with nothing to send: the master forks it again when needed
# Emails wait while tasks wait for a core more than this share of the time (pages queue behind one another)...
BUSY_ABOVE = 0.10
# ...but never longer than this in a row: then one whole pass sends what is due, busy or not.
DEFER_AT_MOST_SECONDS = 60.0
# Signals gunicorn's master handles that the sender must not (a worker's signals are its own business).
_MASTER_SIGNALS = ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH", "SIGCHLD")


class Sender:
    """Keeps one sender process alive from the master: :meth:`start` once, :meth:`attach` in each worker,
    :meth:`stop` at exit."""

    def __init__(self, app, log=logger, inherited=()):
        """``inherited``: what the child must close (the master's listening sockets)."""
        self.app = app
        self.log = log
        self.inherited = inherited
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.pid: int | None = None
        self.stopping = threading.Event()
        self._keeper: threading.Thread | None = None
        self._master = os.getpid()

    def start(self):
        self._keeper = threading.Thread(target=self._keep, name="sender-keeper", daemon=True)
        self._keeper.start()

    def attach(self, outbox):
        """In a worker, after the fork: wake the sender instead of sending."""
        outbox.hand_over(self.wake_w)

    def stop(self, timeout: float = 25) -> bool:
        """Ask the sender to finish the message in hand and exit; kill it after ``timeout`` seconds."""
        self.stopping.set()
        pid = self.pid
        if pid is None:
            return True
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        if _exited(pid, timeout):
            return True
        self.log.warning("email sender (pid %s) still at work after %s s: killed", pid, timeout)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        return False

    def _keep(self):
        # The master's main thread handles its signals; blocked here, a stop sent to a child that has not yet
        # set its own handlers waits for them (the child inherits this thread's mask) instead of reaching the
        # master's handlers copied into it.
        signal.pthread_sigmask(signal.SIG_BLOCK, [getattr(signal, name) for name in _STOP_SIGNALS])
        woken, quietly = True, False
        while not self.stopping.is_set():
            started = time.monotonic()
            # The child says why it stops on a pipe of its own: gunicorn's master may reap it (and its exit
            # status) before this thread does.
            status_r, status_w = os.pipe()
            os.set_blocking(status_r, False)
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.close(status_r)
                    code = self._serve(woken)
                except BaseException:  # noqa: BLE001 - logged, then the master forks a new one
                    self.log.exception("the email sender stopped")
                finally:
                    try:
                        os.write(status_w, bytes([code]))
                    finally:
                        os._exit(code)
            os.close(status_w)
            self.pid = pid
            (self.log.debug if quietly else self.log.info)("email sender started (pid %s)", pid)
            status = self._wait_for_exit(pid, status_r)
            self.pid = None
            if status == IDLE:  # nothing to send: no process until a worker wakes it or the next poll
                woken, quietly = self._await_work(), True
                continue
            woken, quietly = True, False
            asked = status == STOPPED_WHEN_ASKED
            if asked:
                self.stopping.wait(RESTART_STOPPED_AFTER_SECONDS)
            if self.stopping.is_set():
                return
            self.log.error("email sender (pid %s) %s: started again", pid, "stopped" if asked else "died")
            time.sleep(max(0.0, RESTART_AFTER_SECONDS - (time.monotonic() - started)))

    def _await_work(self) -> bool:
        """While no sender runs: wait for a worker's wake (True) or for the next poll (False), or a stop.

        The wake's bytes stay in the pipe, for the sender forked next to read."""
        poll = self.app.config["OUTBOX_POLL_SECONDS"]
        deadline = time.monotonic() + poll if poll > 0 else float("inf")
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if select.select([self.wake_r], [], [], min(1.0, left))[0]:
                return True
        return False

    @staticmethod
    def _wait_for_exit(pid: int, status_r: int) -> int | None:
        """Once the sender has exited: the status it wrote on ``status_r``, None if it was killed first."""
        _exited(pid)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # the master reaped it first
            pass
        try:
            written = os.read(status_r, 1)
        except BlockingIOError:  # nothing written, and a worker forked meanwhile holds the pipe's other end
            written = b""
        finally:
            os.close(status_r)
        return written[0] if written else None

    def _serve(self, woken: bool = True) -> int:
        """In the forked child: become the sender, send until SIGTERM (:data:`STOPPED_WHEN_ASKED`), the master's
        death (0) or ``MAIL_SENDER_IDLE_SECONDS`` with nothing to send (:data:`IDLE`). Forked for a poll (not
        ``woken``), it leaves at once when the first pass finds nothing."""
        outbox = self.app.extensions["outbox"]

        def stop(signum, frame):
            outbox.stopping.set()
            try:
                os.write(self.wake_w, b"!")  # out of the select at once
            except OSError:
                pass
        signal.set_wakeup_fd(-1)
        for name in _MASTER_SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        for name in _STOP_SIGNALS:
            signal.signal(getattr(signal, name), stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [getattr(signal, name) for name in _STOP_SIGNALS])
        for listener in self.inherited:
            listener.close()
        try:
            with open("/proc/self/comm", "wb") as comm:
                comm.write(PROCESS_NAME)
        except OSError:
            pass
        os.nice(NICE)
        if hasattr(os, "SCHED_IDLE"):  # Linux: run only on a core nothing else wants
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass  # the nice value alone, then
        # Connections the master might have pooled are its own: never use them here.
        self.app.extensions["db_engine"].dispose(close=False)
        master = self._master
        try:
            idle = outbox.serve(self.wake_r, alive=lambda: os.getppid() == master, busy=CpuPressure(),
                                patience=DEFER_AT_MOST_SECONDS, idle_after=self.app.config["MAIL_SENDER_IDLE_SECONDS"],
                                woken=woken)
        finally:
            self.app.extensions["db_engine"].dispose()  # its connections closed, not dropped, at every exit
        return STOPPED_WHEN_ASKED if outbox.stopping.is_set() else IDLE if idle else 0


def _exited(pid: int, timeout: float | None = None) -> bool:
    """Wait until the process ``pid`` has exited, at most ``timeout`` seconds: whether it has.

    gunicorn's master reaps every child (``waitpid(-1)``): watched through a
    pidfd, the process is seen to exit whoever reaps it.
    """
    try:
        watch = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([watch], [], [], timeout)[0])
    finally:
        os.close(watch)


class CpuPressure:
    """Whether the node's tasks waited for a core during more than ``threshold`` of the last moment.

    Read from Linux's pressure stall information (``/proc/pressure/cpu``, the
    time at least one runnable task waited): a direct measure of pages kept
    waiting, whoever runs them, where the idle time would count the sender's
    own scheduling. Without that file, never busy (the sender's ``SCHED_IDLE``
    alone keeps it behind the pages).
    """

    PATH = "/proc/pressure/cpu"

    def __init__(self, threshold: float = BUSY_ABOVE, window: float = 0.25):
        self.threshold, self.window = threshold, window
        self._at, self._stalled = time.monotonic(), self._read()
        self._busy = False

    def _read(self) -> int | None:
        """Microseconds some task waited for a core since boot; None without pressure information."""
        try:
            with open(self.PATH) as pressure:
                some = pressure.readline().split()
            return int(some[-1].removeprefix("total="))
        except (OSError, ValueError, IndexError):
            return None

    def __call__(self) -> bool:
        if self._stalled is None:
            return False
        now = time.monotonic()
        if now - self._at >= self.window:
            stalled = self._read()
            if stalled is None:
                return False
            self._busy = (stalled - self._stalled) / ((now - self._at) * 1e6) > self.threshold
            self._at, self._stalled = now, stalled
        return self._busy
