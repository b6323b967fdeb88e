"""The reading pages at scale: free texts, search and frequent terms over 1,000 to 15,000 transmitted bilans.

    .venv/bin/python -m bench.reading [--sizes 1000,5000,15000] [--database postgresql|sqlite] [--pg-name NAME]

Responses are bulk-loaded (not through HTTP, half in Caf 731, half in Caf 741),
then each page is requested through Flask's test client as an administrator
(every Caf) and as a reviewer of Caf 731: wall time and SQL statements.
"""
import argparse
import tempfile
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .common import machine
from .exports import stored_answers
from .prepare import campaign_with_projects, ensure_pg_database, fresh_schema

PAGES = {"texts": "/caf/campagnes/{id}/textes", "search": "/caf/campagnes/{id}/textes?q=enfants+confiance",
         "filtered": "/caf/campagnes/{id}/textes?r.qpv=oui&q=lecture", "terms": "/caf/campagnes/{id}/termes"}


def measure(url: str) -> dict:
    from survey import create_app
    from survey.db import get_session
    from survey.models import Campaign, Role
    from survey.operations import create_user

    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "ADMIN_SECOND_FACTOR": False, "OUTBOX_POLL_SECONDS": 0})  # its polling is not the page's work
    password = "bench password 1234"
    with app.app_context():
        db = get_session()
        create_user(db, "admin@bench.example", password, Role.ADMIN, None)
        create_user(db, "reviewer@bench.example", password, Role.REVIEWER, "731")
        campaign_id = db.query(Campaign.id).scalar()
    results = {}
    for who in ("admin", "reviewer"):
        client = app.test_client()
        client.post("/connexion", data={"email": f"{who}@bench.example", "password": password})
        for name, path in PAGES.items():
            statements = []

            def record(*_event, counted=statements):
                counted.append(1)
            event.listen(Engine, "before_cursor_execute", record)
            try:  # a failed page must not leave the listener on every engine of the process
                started = time.perf_counter()
                answer = client.get(path.format(id=campaign_id))
                seconds = time.perf_counter() - started
            finally:
                event.remove(Engine, "before_cursor_execute", record)
            assert answer.status_code == 200, (name, answer.status_code)
            results[(who, name)] = (seconds, len(statements))
    app.extensions["outbox"].stop(10)
    app.extensions["db_engine"].dispose()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,15000")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--pg-name", default="clas_bench")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench-reading-")
    answers = [stored_answers(seed) for seed in range(10)]
    print(f"Reading pages on {machine()}, {args.database}: seconds (SQL statements)")
    for size in [int(s) for s in args.sizes.split(",")]:
        if args.database == "postgresql":
            ensure_pg_database(args.pg_name)
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.pg_name}"
        else:
            url = f"sqlite:///{workdir}/reading-{size}.sqlite3"
        fresh_schema(url)
        campaign_with_projects(url, size, answers_for=lambda i: answers[i % 10], state="submitted")
        results = measure(url)
        print(f"{size:>6} bilans: " + "  ".join(f"{who}/{name} {s:5.2f} s ({n})" for (who, name), (s, n) in results.items()),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
