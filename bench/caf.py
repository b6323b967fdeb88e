"""The Caf's side at national scale: every Caf page, its latency and its SQL statements, at growing sizes.

    .venv/bin/python -m bench.caf [--sizes 1000,5000,15000] [--campaigns 3] [--requests 12] [--levels 1,4]
                                  [--workers 4] [--database postgresql|sqlite]

For each size (responses over all campaigns), bulk-loads a national data set
(not through HTTP): projects in 101 Cafs of uneven sizes (a big one with 5 %
of them), one or two contacts each, one response per project and campaign
(older campaigns closed and mostly validated; the last one open, with every
state), long bilans, about 20 history events per started response (150 on one
of them), correction requests open and closed, and the invitations already
sent. Then, against gunicorn, a reviewer of the big Caf and a national
administrator open every Caf page: p50 / p99 latency at each concurrency, and
the SQL statements one request runs (counted in this process through Flask's
test client, with an event listener on the engine). The statement counts must
not change with the size.
"""
import argparse
import gc
import os
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, insert, text

from .common import CLAS, Client, gunicorn, machine, new_secret, percentile
from .exports import stored_answers
from .prepare import ensure_pg_database, fresh_schema

PASSWORD = "mot-de-passe-du-banc"
ADMIN, REVIEWER = "admin@bench.example", "relecteur@bench.example"
CAFS = 101
BIG_CAF_SHARE = 0.05
EVENTS = 20
LONG_HISTORY = 150
LONG_TEXT = ("Les enfants ont gagné en confiance et en autonomie ; les familles sont venues plus souvent. " * 45).strip()
# The states of the open campaign's responses, by project index modulo 10.
OPEN_STATES = ["not_started", "not_started", "in_progress", "in_progress", "submitted", "submitted", "submitted",
               "correction_requested", "validated", "validated"]


def caf_sizes(projects: int, cafs: int) -> list[int]:
    """Uneven Cafs: the first has ``BIG_CAF_SHARE`` of the projects, the others 1 to 10 shares each."""
    cafs = max(2, min(cafs, projects // 3))
    big = max(1, round(projects * BIG_CAF_SHARE))
    weights = [1 + (i * 7) % 10 for i in range(cafs - 1)]
    rest = projects - big
    sizes = [rest * w // sum(weights) for w in weights]
    sizes[0] += rest - sum(sizes)
    return [big] + sizes


class Data:
    """What the pages need to know about the loaded data."""

    def __init__(self):
        self.campaign_id = self.long_response_id = self.correction_response_id = None
        self.big_caf = None
        self.responses = 0
        self.events = 0


def load(url: str, size: int, campaigns: int) -> Data:
    """Bulk-load ``size`` responses over ``campaigns`` campaigns (see the module's docstring)."""
    from werkzeug.security import generate_password_hash

    from survey.db import build_engine
    from survey.models import Caf, Campaign, Contact, Project, User

    engine = build_engine(url)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    projects_count = max(3, -(-size // campaigns))
    sizes = caf_sizes(projects_count, CAFS)
    answers = []
    for seed in range(10):
        stored = stored_answers(seed)
        stored["bilan_qualitatif"] = f"Bilan {seed}.\n\n" + LONG_TEXT + "\n\n" + LONG_TEXT[: 200 * seed]
        answers.append(stored)
    data = Data()
    with engine.begin() as db:
        caf_ids = db.execute(insert(Caf).returning(Caf.id, sort_by_parameter_order=True), [
            {"number": f"{100 + i}", "name": f"Caf n° {100 + i}",
             "timezone": "America/Cayenne" if i == len(sizes) - 1 else "Europe/Paris"} for i in range(len(sizes))]
        ).scalars().all()
        data.big_caf = "100"
        hashed = generate_password_hash(PASSWORD)
        admin_id, reviewer_id = db.execute(insert(User).returning(User.id, sort_by_parameter_order=True), [
            {"email": ADMIN, "name": "Admin national", "password_hash": hashed, "role": "admin", "caf_id": None,
             "active": True, "created_at": now},
            {"email": REVIEWER, "name": "Relecteur", "password_hash": hashed, "role": "reviewer",
             "caf_id": caf_ids[0], "active": True, "created_at": now},
        ]).scalars().all()
        caf_of = [caf_id for caf_id, count in zip(caf_ids, sizes) for _ in range(count)]
        projects = db.execute(insert(Project).returning(Project.id, sort_by_parameter_order=True), [
            {"reference": f"P-{i:06d}", "caf_id": caf_of[i], "structure_name": f"Structure {i}",
             "siret": "77567227200017", "commune": f"Commune {i % 400}"} for i in range(projects_count)]).scalars().all()
        contact_rows = [{"project_id": pid, "email": f"c{n}-{pid}@bench.example"}
                        for i, pid in enumerate(projects) for n in range(1 + (i % 3 == 0))]
        contact_ids = db.execute(insert(Contact).returning(Contact.id, Contact.project_id, sort_by_parameter_order=True),
                                 contact_rows).all()
        contacts_of = {}
        for contact_id, project_id in contact_ids:
            contacts_of.setdefault(project_id, []).append(contact_id)
        for number in range(campaigns):
            current = number == campaigns - 1
            opens = now - timedelta(days=20) if current else now - timedelta(days=365 * (campaigns - number))
            closes = now + timedelta(days=30) if current else opens + timedelta(days=50)
            campaign_id = db.execute(insert(Campaign).values(
                code=f"clas-{2021 + number}", title=f"Clas {2021 + number}-{2022 + number} : bilan qualitatif",
                definition_code=CLAS["code"], definition_version=CLAS["version"], definition_content=CLAS,
                opens_at=opens, closes_at=closes).returning(Campaign.id)).scalar_one()
            _load_campaign(db, data, campaign_id, number, current, projects, contacts_of, answers, opens, now,
                           admin_id, reviewer_id, size - number * projects_count if current else projects_count)
            if current:
                data.campaign_id = campaign_id
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # as autovacuum would, soon after such a load
    engine.dispose()
    return data


def _load_campaign(db, data, campaign_id, number, current, projects, contacts_of, answers, opens, now, admin_id,
                   reviewer_id, count):
    from survey.models import CorrectionRequest, EmailLog, Response, ResponseEvent
    from survey.models.response import without_long_texts

    count = max(1, min(count, len(projects)))
    short = [without_long_texts(a) for a in answers]
    rows = []
    for i, project_id in enumerate(projects[:count]):
        state = OPEN_STATES[i % 10] if current else ("validated" if i % 10 else "submitted")
        row = {"campaign_id": campaign_id, "project_id": project_id, "state": state, "definition_version": 1,
               "answers": answers[i % 10] if state != "not_started" else {}, "invalid": {}, "version": 1,
               "short_answers": short[i % 10] if state != "not_started" else {},
               "annotated": False, "started_at": None, "updated_at": None, "submitted_at": None, "receipt": None,
               "validated_at": None, "validated_by_id": None}  # every row the same keys: one executemany
        if state != "not_started":
            row.update(started_at=opens + timedelta(days=1), updated_at=opens + timedelta(days=2))
        if state in ("submitted", "correction_requested", "validated"):
            row.update(submitted_at=opens + timedelta(days=2 + i % 15), receipt=f"BQ-{number}-{i:08d}")
        if state == "validated":
            row.update(validated_at=opens + timedelta(days=18), validated_by_id=reviewer_id)
        rows.append(row)
    ids = db.execute(insert(Response).returning(Response.id, sort_by_parameter_order=True), rows).scalars().all()
    data.responses += len(ids)
    events, corrections, emails = [], [], []
    codes = [code for code in answers[0] if code != "bilan_qualitatif"]
    for i, (response_id, row) in enumerate(zip(ids, rows)):
        if row["state"] == "not_started":
            continue
        contact = contacts_of[row["project_id"]][0]
        many = LONG_HISTORY if current and i == 4 else EVENTS
        for n in range(many - 1):
            code = codes[n % len(codes)] if n % 5 else "bilan_qualitatif"
            value = answers[(i + n) % 10].get(code)
            events.append({"response_id": response_id, "at": row["started_at"] + timedelta(minutes=n), "kind": "answer",
                           "code": code, "old_value": None if n < len(codes) else value, "new_value": value,
                           "contact_id": contact, "user_id": reviewer_id if n % 7 == 6 else None})
        if row.get("submitted_at"):
            events.append({"response_id": response_id, "at": row["submitted_at"], "kind": "submitted", "code": None,
                           "old_value": None, "new_value": None, "contact_id": contact, "user_id": None})
        if row["state"] == "correction_requested" or (row["state"] == "validated" and i % 20 == 8):
            open_ = row["state"] == "correction_requested"
            corrections.append({"response_id": response_id, "requested_by_id": reviewer_id,
                                "requested_at": row["submitted_at"] + timedelta(days=1),
                                "until": now + timedelta(days=10) if open_ else row["submitted_at"] + timedelta(days=8),
                                "items": [{"code": "bilan_qualitatif", "message": "Précisez les progrès observés."}],
                                "closed_at": None if open_ else row["submitted_at"] + timedelta(days=3)})
        if current:
            if i == 4:
                data.long_response_id = response_id
            if row["state"] == "correction_requested" and data.correction_response_id is None:
                data.correction_response_id = response_id
    for start in range(0, len(events), 20_000):
        db.execute(insert(ResponseEvent), events[start:start + 20_000])
    data.events += len(events)
    if corrections:
        db.execute(insert(CorrectionRequest), corrections)
    if current:
        for i, (response_id, row) in enumerate(zip(ids, rows)):
            for contact in contacts_of[row["project_id"]]:
                emails.append({"kind": "invitation", "round": "invitation", "contact_id": contact,
                               "response_id": response_id, "status": "sent", "planned_at": opens,
                               "attempted_at": opens, "sent_at": opens})
                if (i % 3 == 0 or i % 20 == 7) and row["state"] in ("not_started", "in_progress", "correction_requested"):
                    # Planned by an interrupted run: the next preview lists these too.
                    emails.append({"kind": "reminder", "round": "J-14", "contact_id": contact,
                                   "response_id": response_id, "status": "pending", "planned_at": now,
                                   "attempted_at": None, "sent_at": None})
        db.execute(insert(EmailLog), emails)


# -- the pages ----------------------------------------------------------------------------------------------------

def pages(data: Data, only: str = "") -> list[tuple[str, str, str, str, dict | None]]:
    """(name, who, method, path, form) for every Caf page (whose name holds ``only``); who is ``admin`` or
    ``reviewer`` (of the big Caf)."""
    return [page for page in _pages(data) if only in page[0]]


def _pages(data: Data) -> list[tuple[str, str, str, str, dict | None]]:
    c = data.campaign_id
    reminders = "envoi=relance&jours=14"
    return [
        ("home (campaigns)", "reviewer", "GET", "/caf/", None),
        ("list, national", "admin", "GET", f"/caf/campagnes/{c}", None),
        ("list, national, filtered p.2", "admin", "GET", f"/caf/campagnes/{c}?etat=submitted&tri=-maj&page=2", None),
        ("list, national, search", "admin", "GET", f"/caf/campagnes/{c}?q=structure+12", None),
        ("list, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}", None),
        ("response, 150 events", "admin", "GET", f"/caf/reponses/{data.long_response_id}", None),
        ("response, correction asked", "admin", "GET", f"/caf/reponses/{data.correction_response_id}", None),
        ("correction form (page 8)", "admin", "GET", f"/caf/reponses/{data.long_response_id}/pages/8", None),
        ("dashboard, national", "admin", "GET", f"/caf/campagnes/{c}/tableau-de-bord", None),
        ("dashboard, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/tableau-de-bord", None),
        ("dashboard, national, Cafs by rate", "admin", "GET", f"/caf/campagnes/{c}/tableau-de-bord?tri=taux", None),
        ("list, one Caf (administrator)", "admin", "GET", f"/caf/campagnes/{c}?caf={data.big_caf}", None),
        ("reminder preview, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/apercu?{reminders}", None),
        ("reminder preview, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/apercu?{reminders}", None),
        ("invitation preview, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/apercu?envoi=invitation",
         None),
        ("round progress, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/envoi?{reminders}", None),
        ("failed emails, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/echecs", None),
        ("failed emails, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/echecs", None),
        ("export CSV, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/export.csv", None),
        ("export XLSX, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/export.xlsx", None),
        ("codebook CSV", "reviewer", "GET", f"/caf/campagnes/{c}/dictionnaire.csv", None),
        ("documents ZIP, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/documents.zip", None),
    ]


def sign_in(client, email: str):
    client.get("/connexion")
    status, _ = client.post("/connexion", {"email": email, "password": PASSWORD})
    if status != 302:
        raise RuntimeError(f"sign-in of {email} answered {status}")


def _request(client, method, path, form):
    if method == "GET":
        return client.get(path)
    return client.post(path, form)


def statements_per_request(url: str, env: dict, data: Data, only: str = "") -> dict[str, int]:
    """The SQL statements each page runs, counted in this process through Flask's test client."""
    from survey import create_app

    app = create_app({"ENV": "development", "SECRET_KEY": env["SURVEY_SECRET_KEY"], "DATABASE_URL": url,
                      "UPLOAD_DIR": env["SURVEY_UPLOAD_DIR"], "SIGN_IN_RATE_LIMIT": "100000 per minute",
                      "SESSION_COOKIE_SECURE": False, "ADMIN_SECOND_FACTOR": False})
    counted = []
    event.listen(app.extensions["db_engine"], "before_cursor_execute", lambda *args: counted.append(1))
    clients = {}
    for who, email in (("admin", ADMIN), ("reviewer", REVIEWER)):
        clients[who] = TestClient(app)
        sign_in(clients[who], email)
    found = {}
    for name, who, method, path, form in pages(data, only):
        for _ in range(2):  # the second: compiled definitions and caches warm, as in a served worker
            counted.clear()
            status, _ = _request(clients[who], method, path, form)
            if status != 200:
                raise RuntimeError(f"{name}: {method} {path} answered {status}")
        found[name] = len(counted)
    gc.collect()  # a session a streamed download left open (fixed since) gives its connection back
    app.extensions["db_engine"].dispose()
    return found


class TestClient:
    """:class:`bench.common.Client`'s interface over Flask's test client."""

    __test__ = False
    TOKEN, VERSION = Client.TOKEN, Client.VERSION

    def __init__(self, app):
        self.client, self.html = app.test_client(), ""

    def request(self, method, path, data=None):
        response = self.client.open(path, method=method, data=data)
        body = response.get_data()  # streamed bodies run their queries here
        response.close()  # ends the request: its database session goes back to the pool
        if response.mimetype == "text/html":
            self.html = body.decode()
        return response.status_code, body

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, {**Client.hidden(self), **fields})


SLICES = 2  # with a second server: each page and level measured in turns, this many times each


def latencies(ports: dict, data: Data, levels: list[int], requests: int, only: str = "") -> tuple[dict, list]:
    """{(server, page, level): [seconds]} for every page, ``requests`` per client thread at each level; and the errors.

    With several servers (``ports`` by name), each page and level is measured on
    each in turn, in slices, so that a machine slowing down weighs on all alike.
    """
    clients = {}
    for server, port in ports.items():
        for who, email in (("admin", ADMIN), ("reviewer", REVIEWER)):
            clients[server, who] = []
            for _ in range(max(levels)):
                client = Client(port)
                sign_in(client, email)
                clients[server, who].append(client)
    slices = SLICES if len(ports) > 1 else 1
    found, errors = {}, []
    for name, who, method, path, form in pages(data, only):
        for server in ports:
            for client in clients[server, who]:  # warm up every worker on this page
                _request(client, method, path, form)
        for level in levels:
            for number in range(slices):
                for server in (list(ports) if number % 2 == 0 else list(reversed(list(ports)))):
                    times = found.setdefault((server, name, level), [])
                    _measure(clients[server, who][:level], requests // slices or 1, (method, path, form), times,
                             errors, name)
    for group in clients.values():
        for client in group:
            client.close()
    return found, errors


def _measure(clients, requests, page, times, errors, name):
    """``requests`` requests of ``page`` from each client at once (one thread each)."""
    lock = threading.Lock()

    def run(client):
        for _ in range(requests):
            started = time.perf_counter()
            status, _ = _request(client, *page)
            with lock:
                times.append(time.perf_counter() - started)
                if status != 200:
                    errors.append((name, status))

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def memory(group: str) -> tuple[int, float]:
    """(processes, MiB of PSS) of a server's process group: its master and workers, shared pages split fairly."""
    processes, kib = 0, 0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if stat[stat.rindex(")") + 2:].split()[2] != group:
                continue
            rollup = (entry / "smaps_rollup").read_text()
        except (OSError, ValueError, IndexError):
            continue
        processes += 1
        kib += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return processes, kib / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,15000", help="responses over all campaigns, per run")
    parser.add_argument("--campaigns", type=int, default=3)
    parser.add_argument("--requests", type=int, default=12, help="requests per page, level and client thread")
    parser.add_argument("--levels", default="1,4")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread above 1)")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database-name", default="clas_bench_caf", help="PostgreSQL database (emptied)")
    parser.add_argument("--only", default="", help="only the pages whose name holds this, e.g. dashboard")
    parser.add_argument("--compare-with", metavar="FOLDER",
                        help="a copy of another version of the project (e.g. `git archive` of an older commit): "
                             "served too, on the same data, and measured in turns with this one")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    workdir = tempfile.mkdtemp(prefix="bench-caf-")
    if args.database == "postgresql":
        ensure_pg_database(args.database_name)
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database_name}"
    else:
        url = f"sqlite:///{workdir}/bench.sqlite3"
    env = {"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": new_secret(), "SURVEY_UPLOAD_DIR": f"{workdir}/uploads",
           "SURVEY_ENV": "development", "SURVEY_SIGN_IN_RATE_LIMIT": "100000 per minute",
           "SURVEY_ADMIN_SECOND_FACTOR": "0"}  # the benchmark signs in with a password alone
    os.makedirs(env["SURVEY_UPLOAD_DIR"], exist_ok=True)
    results, error_count = [], 0
    for size in [int(s) for s in args.sizes.split(",")]:
        fresh_schema(url)
        started = time.perf_counter()
        data = load(url, size, args.campaigns)
        print(f"\n{data.responses} responses in {args.campaigns} campaigns ({data.events} history events), "
              f"loaded in {time.perf_counter() - started:.1f} s", flush=True)
        statements = statements_per_request(url, env, data, args.only)
        with ExitStack() as stack:
            ports = {"this": stack.enter_context(gunicorn("wsgi:app", env, workers=args.workers, threads=args.threads))}
            if args.compare_with:
                ports["other"] = stack.enter_context(gunicorn("wsgi:app", env, workers=args.workers,
                                                              threads=args.threads, root=args.compare_with))
            times, errors = latencies(ports, data, levels, args.requests, args.only)
            processes, pss = memory(ports["this"].group)
        error_count += len(errors)
        print(f"  after serving every page: {processes} processes (master and workers), {pss:.0f} MiB PSS")
        servers = list(ports)
        print(f"  {'page':36} {'SQL':>4}" + "".join(f"   c={level} p50 / p99 ms" + (" (this | other)" if args.compare_with else "")
                                                  for level in levels)
              + (f"   errors {len(errors)}: {errors[:3]}" if errors else ""))
        for name, *_ in pages(data, args.only):
            print(f"  {name:36} {statements[name]:4}" + "".join(
                "  " + " |".join(f"{1000 * percentile(times[(server, name, level)], .5):7.1f} / "
                                 f"{1000 * percentile(times[(server, name, level)], .99):6.1f}" for server in servers)
                for level in levels), flush=True)
        results.append((size, statements))
    print(f"\nCaf pages on {machine()}, {args.database}, gunicorn {args.workers} workers x {args.threads} threads, "
          f"{args.requests} requests per page, level and client thread, errors {error_count}")
    names = [name for name, *_ in pages(Data(), args.only)]
    growing = [name for name in names if len({statements[name] for _size, statements in results}) > 1]
    print("  SQL statements per request equal at every size" if not growing else
          "  SQL statements per request grow with the data: " + ", ".join(
              f"{name} ({' / '.join(str(s[name]) for _size, s in results)})" for name in growing))
    return 1 if error_count else 0


if __name__ == "__main__":
    raise SystemExit(main())
