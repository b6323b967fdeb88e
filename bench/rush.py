"""The deadline rush: simulated partners completing the whole bilan at once.

    .venv/bin/python -m bench.rush [--partners 200] [--levels 1,4,16] [--workers N] [--slices 5] [--max-seconds 600]

Each partner opens its personal link, answers every page (the file on the
last one), reads the summary and transmits, against gunicorn and PostgreSQL
on 127.0.0.1; the engine sends each receipt to a real SMTP server on
127.0.0.1. The engine and the hand-written baseline are served at once and
alternated in slices at each level, so that a machine slowing down or
speeding up weighs on both alike. Prints completed responses per second,
p50/p95/p99 latency per kind of request, errors and the servers' CPU per
completed bilan, then checks the database and the receipts.

With ``--against engine`` the engine alternates with a second engine server
instead of the baseline: the differences such an A/A run shows are the
measurement's noise (``--against-workers`` gives that second server another
number of workers).
"""
import argparse
import multiprocessing
import os
import queue
import socket
import tempfile
import threading
import time
from collections import defaultdict

from sqlalchemy import func, select

from survey.db import build_engine
from survey.models import EmailKind, EmailLog, EmailStatus, Response, ResponseState

from .common import DEPLOYED_WORKERS, clas_answers, cpu_seconds, free_port, gunicorn, machine, new_secret, percentile
from .journeys import Timings, complete_journey, request_kind
from .prepare import campaign_with_projects, empty_database

APPS = {"engine": "wsgi:app", "baseline": "bench.baseline.app:app"}
WARM_UP = 8


def run_level(port, tokens, offset, concurrency, max_seconds):
    """``len(tokens)`` journeys by ``concurrency`` threads; returns (rate, timings, completed)."""
    work = queue.Queue()
    for index, token in enumerate(tokens):
        work.put((offset + index, token))
    timings, lock, completed = Timings(), threading.Lock(), []
    deadline = time.monotonic() + max_seconds

    def worker():
        while time.monotonic() < deadline:
            try:
                seed, token = work.get_nowait()
            except queue.Empty:
                return
            mine = Timings()
            try:
                complete_journey(port, token, seed, mine)
            except Exception as exc:  # noqa: BLE001 - a broken journey is an error, not a crash
                mine.errors.append(("journey", repr(exc)))
                seed = None
            with lock:
                timings.merge(mine)
                if seed is not None:
                    completed.append(seed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return len(completed) / elapsed, timings, completed, elapsed


DRIVER = str(os.getpgrp())  # this process, its threads and the SMTP sink it starts


def _ceiling(cpu_ms_per_bilan: float) -> float:
    """Bilans per second when every core is busy with this CPU cost per bilan."""
    return 1000 * (os.cpu_count() or 1) / cpu_ms_per_bilan if cpu_ms_per_bilan else float("inf")


class _Counter:
    """The aiosmtpd handler of the sink: counts what it accepts."""

    def __init__(self, received):
        self.received = received

    async def handle_DATA(self, server, session, envelope):
        with self.received.get_lock():
            self.received.value += 1
        return "250 Message accepted for delivery"


def _serve(port, received, stop):
    from aiosmtpd.controller import Controller
    controller = Controller(_Counter(received), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


class ReceiptSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd, in its own process like a mail relay) counting the receipts."""

    def __init__(self):
        self.port = free_port()
        self._received = multiprocessing.Value("i", 0)
        self._stop = multiprocessing.Event()
        self._process = multiprocessing.Process(target=_serve, args=(self.port, self._received, self._stop), daemon=True)

    @property
    def received(self) -> int:
        return self._received.value

    def __enter__(self):
        self._process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the SMTP sink did not start")

    def __exit__(self, *exc):
        self._stop.set()
        self._process.join(timeout=10)


class ServerTimes:
    """Each request's own time as gunicorn logged it; the rest of a latency is the wait for a free worker."""

    def __init__(self, path: str):
        self.path = path
        self.offset = 0

    def skip(self):
        """Ignore what was logged so far."""
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def read(self) -> dict[str, list[float]]:
        """Seconds per kind of request, for the lines logged since the last call."""
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            data = log.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        found = defaultdict(list)
        for line in complete.decode(errors="replace").splitlines():
            method, _, rest = line.partition(" ")
            path, _, micros = rest.rpartition(" ")  # the decoded path may hold spaces
            kind = request_kind(method, path) if micros.isdigit() else None
            if kind:
                found[kind].append(int(micros) / 1e6)
        return found


def wait_for_receipts(sink, expected: int, patience: float = 30) -> int:
    """Wait until the sink has ``expected`` receipts, as long as they keep coming; returns how many it has."""
    last, quiet_since = -1, time.monotonic()
    while sink.received < expected and time.monotonic() - quiet_since < patience:
        if sink.received != last:
            last, quiet_since = sink.received, time.monotonic()
        time.sleep(0.05)
    return sink.received


def receipt_lags(url) -> list[float]:
    """Seconds from each transmission to its receipt's sending (the engine's receipts)."""
    engine = build_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(EmailLog.sent_at, Response.submitted_at).join(Response, EmailLog.response_id == Response.id)
                                  .where(EmailLog.kind == EmailKind.RECEIPT, EmailLog.status == EmailStatus.SENT)).all()
    engine.dispose()
    return sorted((sent - submitted).total_seconds() for sent, submitted in rows)


def check_database(url, expected_seeds, expected_receipts):
    """Exactly the expected transmitted responses, each with the answers that were sent, and their receipts."""
    engine = build_engine(url)
    problems = []
    with engine.connect() as connection:
        transmitted = connection.execute(select(func.count()).select_from(Response)
                                         .where(Response.state == ResponseState.SUBMITTED)).scalar_one()
        if transmitted != len(expected_seeds):
            problems.append(f"{transmitted} transmitted responses, expected {len(expected_seeds)}")
        rows = connection.execute(select(Response.answers).where(Response.state == ResponseState.SUBMITTED)).scalars()
        by_place = {answers.get("lieu_action"): answers for answers in rows}
        for seed in expected_seeds:
            answers = by_place.get(f"Salle {seed}")
            sent = clas_answers(seed)
            if answers is None:
                problems.append(f"partner {seed}: no transmitted response")
            elif answers.get("bilan_qualitatif") != sent[8]["bilan_qualitatif"].strip() or \
                    answers.get("situations_enfants", {}).get("langue_parents") != sent[4]["situations_enfants__langue_parents"]:
                problems.append(f"partner {seed}: stored answers differ from those sent")
        receipts = connection.execute(select(func.count()).select_from(EmailLog).where(
            EmailLog.kind == EmailKind.RECEIPT, EmailLog.status == EmailStatus.SENT)).scalar_one()
        if receipts != expected_receipts:
            problems.append(f"{receipts} receipts sent, expected {expected_receipts}")
    engine.dispose()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=200, help="journeys per concurrency level and app")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--workers", type=int, default=DEPLOYED_WORKERS, help="gunicorn workers (default: one per core, as deployed)")
    parser.add_argument("--slices", type=int, default=5, help="alternations between the apps per level")
    parser.add_argument("--max-seconds", type=float, default=600, help="time bound per slice")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database-name", default="clas_bench", help="PostgreSQL database (emptied)")
    parser.add_argument("--against", choices=list(APPS), default="baseline",
                        help="what the engine alternates with: the baseline, or a second engine server (an A/A run)")
    parser.add_argument("--against-workers", type=int, help="gunicorn workers of that second server (default: --workers)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread above 1)")
    parser.add_argument("--against-threads", type=int, help="threads per worker of the second server (default: --threads)")
    parser.add_argument("--config", default="deploy/gunicorn.conf.py",
                        help="the gunicorn configuration file of the engine's server, as deployed (its hooks apply, its "
                             "email sender process included; --workers and --threads still decide); '' for none")
    args = parser.parse_args(argv)
    other = "baseline" if args.against == "baseline" else "engine-b"
    apps = {"engine": APPS["engine"], other: APPS[args.against]}
    sends_receipts = [app for app, target in apps.items() if target == APPS["engine"]]
    levels = [int(level) for level in args.levels.split(",")]
    workdir = tempfile.mkdtemp(prefix="bench-rush-")
    url = empty_database(args.database, workdir, args.database_name)
    per_app = args.partners * len(levels) + WARM_UP
    tokens = campaign_with_projects(url, 2 * per_app)
    env = {"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": new_secret(), "SURVEY_UPLOAD_DIR": f"{workdir}/uploads",
           "SURVEY_ENV": "development",  # the real rate limit on links: each partner has its own address
           "SURVEY_MAIL_PER_SECOND": "0"}  # the pace toward a relay is the relay's business; this sink takes all
    failed, summary, done_seeds = False, [], {app: [] for app in apps}
    logs = {app: ServerTimes(f"{workdir}/access-{app}.log") for app in apps}
    workers = {"engine": args.workers, other: args.against_workers or args.workers}
    threads = {"engine": args.threads, other: args.against_threads or args.threads}
    with ReceiptSink() as sink, \
            gunicorn(apps["engine"], {**env, "SURVEY_SMTP_PORT": str(sink.port)}, workers=workers["engine"],
                     threads=threads["engine"], access_log=logs["engine"].path, config=args.config or None) as engine, \
            gunicorn(apps[other], {**env, "SURVEY_SMTP_PORT": str(sink.port)}, workers=workers[other],
                     threads=threads[other], access_log=logs[other].path,
                     config=(args.config or None) if other != "baseline" else None) as second:
        servers = {"engine": engine, other: second}
        first = {app: index * per_app for index, app in enumerate(apps)}  # each app its own partners
        for app, port in servers.items():  # warm every worker up (imports, first queries) outside the measures
            offset = first[app] + per_app - WARM_UP
            done_seeds[app].extend(run_level(port, tokens[offset:offset + WARM_UP], offset, workers[app] * threads[app],
                                             args.max_seconds)[2])
        time.sleep(0.2)  # gunicorn logs a request just after answering it
        for log in logs.values():
            log.skip()
        measured_from = cpu_seconds()
        receipts_due = sum(len(done_seeds[app]) for app in sends_receipts)
        for index, level in enumerate(levels):
            measured = {app: {"timings": Timings(), "completed": [], "elapsed": 0.0, "cpu": 0.0, "pg": 0.0, "driver": 0.0,
                              "sender": 0.0} for app in apps}
            bounds = [round(args.partners * k / args.slices) for k in range(args.slices + 1)]
            for slice_number, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False)):
                # Alternate which app goes first, so that neither always follows the other.
                for app in (list(apps) if slice_number % 2 == 0 else list(reversed(list(apps)))):
                    offset = first[app] + index * args.partners + low
                    before = cpu_seconds()
                    _rate, timings, completed, elapsed = run_level(servers[app], tokens[offset:offset + high - low],
                                                                   offset, level, args.max_seconds)
                    used = cpu_seconds()
                    if app in sends_receipts:
                        # The engine's sender builds its receipts when the cores are free: before the other
                        # app's slice, so that neither app's slice runs beside the other's leftover work (the
                        # whole run's CPU, printed at the end, counts that work; the receipts' delays too).
                        receipts_due += len(completed)
                        wait_for_receipts(sink, receipts_due)
                    result = measured[app]
                    result["timings"].merge(timings)
                    result["completed"] += completed
                    result["elapsed"] += elapsed
                    for key, group in (("cpu", servers[app].group), ("pg", "postgres"), ("driver", DRIVER),
                                       ("sender", f"{servers[app].group} sender")):
                        result[key] += used.get(group, 0) - before.get(group, 0)
            time.sleep(0.2)
            for app, result in measured.items():
                timings, completed, served = result["timings"], result["completed"], logs[app].read()
                done_seeds[app].extend(completed)
                rate = len(completed) / result["elapsed"] if result["elapsed"] else 0.0
                server_ms, pg_ms, driver_ms, sender_ms = (1000 * max(0.0, result[key]) / max(1, len(completed))
                                                          for key in ("cpu", "pg", "driver", "sender"))
                of_which = f" (the email sender {sender_ms:.0f})" if sender_ms else ""
                print(f"\n{app}, concurrency {level}: {len(completed)} bilans in {result['elapsed']:.1f} s = {rate:.2f} "
                      f"completed/s, errors {len(timings.errors)}; CPU per bilan: server {server_ms:.0f} ms{of_which}, "
                      f"PostgreSQL {pg_ms:.0f} ms, driver and SMTP sink {driver_ms:.0f} ms "
                      f"(all {os.cpu_count()} cores busy: at most {_ceiling(server_ms + pg_ms + driver_ms):.1f} bilans/s)")
                for kind, values in sorted(timings.latencies.items()):
                    own = served.get(kind, [])
                    print(f"  {kind:18} n={len(values):5}  p50 {1000 * percentile(values, .5):6.1f} ms  "
                          f"p95 {1000 * percentile(values, .95):6.1f} ms  p99 {1000 * percentile(values, .99):6.1f} ms"
                          f"   in the server: p50 {1000 * percentile(own, .5):6.1f} ms  p95 {1000 * percentile(own, .95):6.1f} ms")
                if timings.errors:
                    print(f"  first errors: {timings.errors[:3]}")
                worst = max((percentile(v, .99) for v in timings.latencies.values()), default=0.0)
                summary.append((app, level, rate, len(timings.errors), worst, server_ms, pg_ms + driver_ms))
                failed |= bool(timings.errors)
        receipts = sum(len(done_seeds[app]) for app in sends_receipts)
        received = wait_for_receipts(sink, receipts)
        whole_run = cpu_seconds().get(engine.group, 0) - measured_from.get(engine.group, 0)
    seeds = done_seeds["engine"] + done_seeds[other]
    problems = check_database(url, seeds, receipts)
    if received != receipts:
        problems.append(f"the SMTP server received {received} receipts, expected {receipts}")
    print(f"database check: {'OK, ' + str(len(seeds)) + ' transmitted with their answers, every engine receipt sent' if not problems else problems[:5]}")
    engine_bilans = len(done_seeds["engine"]) - WARM_UP
    print(f"engine's server CPU over the whole run (the sender's receipts included, whenever they were built), "
          f"per bilan: {1000 * whole_run / max(1, engine_bilans):.0f} ms")
    lags = receipt_lags(url)
    if lags:
        print(f"receipts sent after their transmission: p50 {percentile(lags, .5):.1f} s, p95 {percentile(lags, .95):.1f} s, "
              f"max {max(lags):.1f} s")
    failed |= bool(problems)
    in_threads = {app: f" x {threads[app]} threads" if threads[app] > 1 else "" for app in apps}
    print(f"\nDeadline rush on {machine()}, {args.database}, gunicorn {args.workers} workers{in_threads['engine']} each"
          f"{f' ({other} {workers[other]}{in_threads[other]})' if (workers[other], threads[other]) != (args.workers, args.threads) else ''}, "
          f"apps alternated in {args.slices} slices per level")
    for app, level, rate, errors, worst, server_ms, others_ms in summary:
        print(f"  {app:8} c={level:2}  {rate:6.2f} completed/s  ({5000 / rate / 60 if rate else float('inf'):5.1f} min for 5,000)  "
              f"worst p99 {1000 * worst:6.1f} ms  errors {errors}  CPU per bilan: server {server_ms:3.0f} ms, "
              f"PostgreSQL + driver {others_ms:3.0f} ms, ceiling {_ceiling(server_ms + others_ms):4.1f}/s")
    rates = {(app, level): rate for app, level, rate, *_ in summary}
    for level in levels:
        if rates.get((other, level)):
            print(f"  ratio engine / {other} at c={level}: {rates[('engine', level)] / rates[(other, level)]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
