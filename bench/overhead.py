"""Engine overhead: our questionnaire pages versus the hand-written baseline, same run, alternating.

    .venv/bin/python -m bench.overhead [--seconds 10] [--rounds 3] [--threads 4] [--database sqlite|postgresql]

Both apps are served by gunicorn (2 workers) on 127.0.0.1, on the same
database. Prints GET and save (GET + POST) throughput and the ratio ours/baseline.
"""
import argparse
import tempfile
import threading
import time
from itertools import cycle

from .common import Client, clas_answers, gunicorn, machine, new_secret
from .journeys import Timings, open_link, save_page, view_page
from .prepare import campaign_with_projects, empty_database

APPS = {"engine": "wsgi:app", "baseline": "bench.baseline.app:app"}


def measure(port, tokens, mode, seconds, threads):
    """Requests per second over ``seconds`` with ``threads`` clients, each bound to its own response.

    Clients open their link and warm up first; the clock starts when all are ready.
    """
    done = []
    ready = threading.Barrier(len(tokens[:threads]) + 1)
    window = {}

    def worker(token, seed):
        timings = Timings()
        client = Client(port)
        open_link(client, token, timings)
        for number in range(1, 8):
            view_page(client, number, Timings())
        ready.wait()
        pages = cycle(range(1, 8))  # page 8 carries the file; the rush covers it
        count = 0
        while time.monotonic() < window["stop"]:
            number = next(pages)
            view_page(client, number, timings)
            if mode == "save":
                save_page(client, number, clas_answers(seed)[number], timings)
            count += 1
        client.close()
        done.append((count, timings))

    workers = [threading.Thread(target=worker, args=(token, i)) for i, token in enumerate(tokens[:threads])]
    for thread in workers:
        thread.start()
    window["stop"] = time.monotonic() + 3600
    ready.wait()
    started = time.monotonic()
    window["stop"] = started + seconds
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - started
    errors = sum(len(t.errors) for _, t in done)
    if errors:
        print("  errors:", sorted({e for _, t in done for e in t.errors}))
    return sum(c for c, _ in done) / elapsed, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench-overhead-")
    url = empty_database(args.database, workdir)
    tokens = campaign_with_projects(url, 4 * args.threads * args.rounds)
    env = {"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": new_secret(), "SURVEY_UPLOAD_DIR": f"{workdir}/uploads",
           "SURVEY_ENV": "development", "SURVEY_LINK_RATE_LIMIT": "1000000 per minute"}
    results = {(app, mode): [] for app in APPS for mode in ("get", "save")}
    errors = 0
    with gunicorn(APPS["engine"], env) as engine_port, gunicorn(APPS["baseline"], env) as baseline_port:
        ports = {"engine": engine_port, "baseline": baseline_port}
        slices = iter(range(0, len(tokens), args.threads))
        for round_number in range(args.rounds):
            order = list(APPS) if round_number % 2 == 0 else list(reversed(APPS))
            for mode in ("get", "save"):
                for app in order:
                    start = next(slices)
                    rate, failed = measure(ports[app], tokens[start:start + args.threads], mode, args.seconds, args.threads)
                    results[(app, mode)].append(rate)
                    errors += failed
                    print(f"round {round_number + 1} {mode:4} {app:8} {rate:8.1f} /s", flush=True)
    print(f"\nEngine overhead on {machine()}, {args.database}, {args.threads} clients, gunicorn 2 workers")
    for mode, label in (("get", "GET page"), ("save", "GET + POST page")):
        ours = sum(results[("engine", mode)]) / args.rounds
        base = sum(results[("baseline", mode)]) / args.rounds
        print(f"{label:16} engine {ours:7.1f}/s  baseline {base:7.1f}/s  ratio {ours / base:.2f}")
    print(f"errors: {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
