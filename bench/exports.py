"""Exports at scale: CSV and XLSX of 1,000 to 100,000 transmitted bilans, time and peak memory.

    .venv/bin/python -m bench.exports [--sizes 1000,10000,100000] [--database postgresql|sqlite]

Responses are bulk-loaded (not through HTTP). Each export runs in a fresh
process so its peak memory (ru_maxrss) is its own; a raw dump of the same
rows (one query, csv.writer over the stored answers) is the reference.
"""
import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from .common import clas_answers, machine
from .prepare import PG_BENCH, campaign_with_projects, ensure_pg_database, fresh_schema


def stored_answers(seed: int) -> dict:
    """What the engine stores for the form data of ``clas_answers(seed)``."""
    answers = {}
    for data in clas_answers(seed).values():
        for name, value in data.items():
            code, _, row = name.partition("__")
            if row:
                answers.setdefault(code, {})[row] = value
            else:
                answers[name] = value.strip() if isinstance(value, str) else value
    return answers


def run_one(url: str, kind: str, target: str) -> dict:
    """In this (fresh) process: one export to ``target``; returns seconds and peak RSS."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from survey.db import build_engine
    from survey.models import Campaign
    from survey.reports import export

    engine = build_engine(url)
    started = time.perf_counter()
    with Session(engine) as db:
        campaign = db.scalars(select(Campaign)).first()
        if kind == "csv":
            with open(target, "w", encoding="utf-8", newline="") as out:
                for line in export.csv_lines(db, campaign, None, export.ExportOptions()):
                    out.write(line)
        elif kind == "xlsx":
            with open(target, "wb") as out:
                export.write_xlsx(out, db, campaign, None, export.ExportOptions())
        else:  # the raw dump: one query, csv.writer over the stored answers
            with open(target, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, delimiter=";")
                result = db.connection().execution_options(yield_per=1000).execute(
                    text("SELECT p.reference, r.state, r.answers FROM responses r JOIN projects p ON p.id = r.project_id "
                         "WHERE r.campaign_id = :c ORDER BY p.reference"), {"c": campaign.id})
                for reference, state, answers in result:
                    writer.writerow([reference, state, answers if isinstance(answers, str) else json.dumps(answers)])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "bytes": os.path.getsize(target)}


def measure(url, kind, workdir):
    target = os.path.join(workdir, f"export.{kind}")
    output = subprocess.run([sys.executable, "-m", "bench.exports", "--one", kind, "--url", url, "--target", target],
                            capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--one", choices=["csv", "xlsx", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.url, args.one, args.target)))
        return 0
    workdir = tempfile.mkdtemp(prefix="bench-exports-")
    answers = [stored_answers(seed) for seed in range(10)]
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        if args.database == "postgresql":
            ensure_pg_database()
            url = PG_BENCH
        else:
            url = f"sqlite:///{workdir}/exports-{size}.sqlite3"
        fresh_schema(url)
        started = time.perf_counter()
        campaign_with_projects(url, size, answers_for=lambda i: answers[i % 10], state="submitted")
        load = time.perf_counter() - started
        row = {"size": size, "load": load}
        for kind in ("raw", "csv", "xlsx"):
            row[kind] = measure(url, kind, workdir)
        results.append(row)
        print(f"{size:>7} rows (loaded in {load:5.1f} s): "
              + "  ".join(f"{k} {row[k]['seconds']:6.2f} s {row[k]['peak_kib'] / 1024:6.1f} MiB" for k in ("raw", "csv", "xlsx")),
              flush=True)
    print(f"\nExports on {machine()}, {args.database}")
    for row in results:
        raw = row["raw"]["seconds"]
        print(f"  {row['size']:>7} rows: CSV {row['csv']['seconds'] / raw:4.2f}x raw dump, XLSX {row['xlsx']['seconds'] / raw:4.2f}x")
    if len(results) > 1:
        first, last = results[0], results[-1]
        for kind in ("csv", "xlsx"):
            print(f"  peak memory {kind}: {last[kind]['peak_kib'] / first[kind]['peak_kib']:.2f}x from {first['size']} to {last['size']} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
