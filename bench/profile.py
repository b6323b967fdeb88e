"""Where a partner's journey spends its time, in one process, without HTTP.

    .venv/bin/python -m bench.profile [--partners 40] [--app engine|baseline] [--database postgresql|sqlite] [--top 40]

Runs complete journeys (open link, 8 x (GET + POST), summary, transmit, and
for the engine the receipt, sent in the same thread to a real SMTP server on
127.0.0.1) through Flask's test client under cProfile, then prints the mean time per
kind of request and the functions with the most cumulative time. This is the
tool behind the fixes recorded in RESULTS.md; it is not a throughput figure.
"""
import argparse
import cProfile
import io
import os
import pstats
import re
import tempfile
import time
from collections import defaultdict

from .common import PDF, clas_answers, new_secret
from .prepare import campaign_with_projects, empty_database
from .rush import ReceiptSink

TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(rb'name="version" value="(\d+)"')


def hidden(body: bytes) -> dict:
    token, version = TOKEN.search(body), VERSION.search(body)
    return {"csrf_token": token.group(1).decode() if token else "", "version": version.group(1).decode() if version else ""}


class Receipts:
    """The engine's receipts, sent in this thread after each transmission: timed and profiled as their own kind."""

    def __init__(self, app):
        self.app, self.posted = app, []
        app.extensions["outbox"].post = self.posted.append  # instead of the sending thread

    def send_posted(self):
        from survey import clock
        from survey.db import get_session
        from survey.operations import send_receipt
        while self.posted:
            with self.app.app_context():
                send_receipt(get_session(), self.posted.pop(0), clock.now())


def journey(client, token: str, seed: int, spent: dict, profiler=None, only=None, receipts=None):
    """One partner's whole bilan (and its receipt); with ``profiler``, profile the kind ``only`` (or all)."""
    def timed(kind, call, *args, **kwargs):
        profiled = profiler is not None and only in (None, kind)
        if profiled:
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        result = call(*args, **kwargs)
        spent[kind].append((time.perf_counter() - started, time.process_time() - cpu))
        if profiled:
            profiler.disable()
        if getattr(result, "status_code", 200) >= 400:
            raise RuntimeError(f"{kind}: {result.status_code}")
        return result

    timed("open link", client.get, f"/r/{token}")
    for number, data in clas_answers(seed).items():
        page = timed("GET page", client.get, f"/bilan/page/{number}")
        fields = {**hidden(page.data), **data, "action": "next"}
        if number == 8:
            fields["document"] = (io.BytesIO(PDF), "bilan.pdf")
        timed("POST page", client.post, f"/bilan/page/{number}", data=fields)
    summary = timed("GET summary", client.get, "/bilan/recapitulatif")
    timed("POST transmit", client.post, "/bilan/transmettre", data={**hidden(summary.data), "certifie": "oui"})
    if receipts is not None:
        timed("receipt", receipts.send_posted)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=40)
    parser.add_argument("--app", choices=["engine", "baseline"], default="engine")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true", help="only the mean time per kind of request")
    parser.add_argument("--kind", help='profile only this kind of request, e.g. "POST transmit"')
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench-profile-")
    url = empty_database(args.database, workdir)
    tokens = campaign_with_projects(url, args.partners + 2)
    with ReceiptSink() as sink:
        os.environ.update({"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": new_secret(), "SURVEY_ENV": "development",
                           "SURVEY_UPLOAD_DIR": f"{workdir}/uploads", "SURVEY_LINK_RATE_LIMIT": "1000000 per minute",
                           "SURVEY_SMTP_PORT": str(sink.port)})
        if args.app == "engine":
            from wsgi import app
            receipts = Receipts(app)
        else:
            from bench.baseline.app import app
            receipts = None
        spent = defaultdict(list)
        for seed in (0, 1):  # warm up: imports, compiled definition, first queries
            journey(app.test_client(), tokens[-1 - seed], args.partners + seed, defaultdict(list), receipts=receipts)
        profiler = cProfile.Profile()
        for seed in range(args.partners):
            journey(app.test_client(), tokens[seed], seed, spent, None if args.no_profile else profiler, args.kind,
                    receipts)
        if receipts is not None and sink.received != args.partners + 2:
            raise RuntimeError(f"the SMTP server received {sink.received} receipts, expected {args.partners + 2}")
    wall, cpu = (sum(value[i] for values in spent.values() for value in values) for i in (0, 1))
    print(f"{args.app}, {args.database}, {args.partners} journeys, per journey: {1000 * wall / args.partners:.1f} ms, "
          f"CPU of this process {1000 * cpu / args.partners:.1f} ms" + ("" if args.no_profile else " (under the profiler)"))
    for kind, values in sorted(spent.items()):
        print(f"  {kind:14} n={len(values):4}  mean {1000 * sum(v[0] for v in values) / len(values):6.2f} ms, "
              f"CPU {1000 * sum(v[1] for v in values) / len(values):6.2f} ms")
    if args.no_profile:
        return
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
