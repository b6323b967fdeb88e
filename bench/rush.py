"""The deadline rush: simulated partners completing the whole bilan at once.

    .venv/bin/python -m bench.rush [--partners 200] [--levels 1,4,16] [--workers 4] [--max-seconds 600]

Each partner opens its personal link, answers every page (the file on the
last one), reads the summary and transmits, against gunicorn and PostgreSQL
on 127.0.0.1. Runs the engine and the hand-written baseline in the same run.
Prints completed responses per second, p50/p95/p99 latency per kind of
request and the error count, then checks the database.
"""
import argparse
import queue
import tempfile
import threading
import time

from sqlalchemy import func, select

from survey.db import build_engine
from survey.models import Response, ResponseState

from .common import clas_answers, cpu_seconds, gunicorn, machine, new_secret, percentile
from .journeys import Timings, complete_journey
from .prepare import PG_BENCH, campaign_with_projects, ensure_pg_database, fresh_schema

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


def check_database(url, expected_seeds):
    """Exactly the expected transmitted responses, each with the answers that were sent."""
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
    engine.dispose()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=200, help="journeys per concurrency level and app")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--max-seconds", type=float, default=600, help="time bound per level")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--apps", default="engine,baseline")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    workdir = tempfile.mkdtemp(prefix="bench-rush-")
    failed = False
    summary = []
    for app in args.apps.split(","):
        if args.database == "postgresql":
            ensure_pg_database()
            url = PG_BENCH
        else:
            url = f"sqlite:///{workdir}/{app}.sqlite3"
        fresh_schema(url)
        tokens = campaign_with_projects(url, args.partners * len(levels) + WARM_UP)
        env = {"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": new_secret(), "SURVEY_UPLOAD_DIR": f"{workdir}/uploads-{app}",
               "SURVEY_ENV": "development", "SURVEY_LINK_RATE_LIMIT": "1000000 per minute"}
        done_seeds = []
        with gunicorn(APPS[app], env, workers=args.workers) as port:
            # Warm every worker up (imports, first queries) outside the measures.
            warm = run_level(port, tokens[-WARM_UP:], len(tokens) - WARM_UP, args.workers, args.max_seconds)
            done_seeds.extend(warm[2])
            for index, level in enumerate(levels):
                offset = index * args.partners
                before = cpu_seconds()
                rate, timings, completed, elapsed = run_level(port, tokens[offset:offset + args.partners], offset, level,
                                                              args.max_seconds)
                after = cpu_seconds()
                done_seeds.extend(completed)
                server_ms, database_ms = (1000 * (after.get(key, 0) - before.get(key, 0)) / max(1, len(completed))
                                          for key in (port.group, "postgres"))
                print(f"\n{app}, concurrency {level}: {len(completed)} bilans in {elapsed:.1f} s = {rate:.2f} completed/s, "
                      f"errors {len(timings.errors)}; CPU per bilan: gunicorn {server_ms:.0f} ms, PostgreSQL {database_ms:.0f} ms")
                for kind, values in sorted(timings.latencies.items()):
                    print(f"  {kind:18} n={len(values):5}  p50 {1000 * percentile(values, .5):6.1f} ms  "
                          f"p95 {1000 * percentile(values, .95):6.1f} ms  p99 {1000 * percentile(values, .99):6.1f} ms")
                worst = max((percentile(v, .99) for v in timings.latencies.values()), default=0.0)
                summary.append((app, level, rate, len(timings.errors), worst, server_ms))
                failed |= bool(timings.errors)
        problems = check_database(url, done_seeds)
        print(f"{app}: database check: {'OK, ' + str(len(done_seeds)) + ' transmitted with their answers' if not problems else problems[:5]}")
        failed |= bool(problems)
    print(f"\nDeadline rush on {machine()}, {args.database}, gunicorn {args.workers} workers")
    for app, level, rate, errors, worst, server_ms in summary:
        print(f"  {app:8} c={level:2}  {rate:6.2f} completed/s  ({5000 / rate / 60 if rate else float('inf'):5.1f} min for 5,000)  "
              f"worst p99 {1000 * worst:6.1f} ms  errors {errors}  server CPU {server_ms:5.0f} ms per bilan")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
