"""The Caf's side at national scale: every Caf page, its latency and its SQL statements, at growing sizes.

    .venv/bin/python -m bench.caf [--sizes 1000,5000,15000] [--campaigns 3] [--requests 12] [--levels 1,4]
                                  [--workers N] [--database postgresql|sqlite]

For each size (responses over all campaigns), bulk-loads a national data set
(``bench.caf_data``: 101 Cafs of uneven sizes, long bilans, long histories,
corrections, invitations sent). Then, against gunicorn, a reviewer of the big Caf and a national
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

from sqlalchemy import event

from .caf_data import ADMIN, PASSWORD, REVIEWER, Data, load
from .common import DEPLOYED_WORKERS, SENDER_NAME, Client, gunicorn, machine, new_secret, percentile
from .prepare import ensure_pg_database, fresh_schema

# -- the pages ----------------------------------------------------------------------------------------------------

def pages(data: Data, only: str = "") -> list[tuple[str, str, str, str, dict | None]]:
    """(name, who, method, path, form) for every Caf page (whose name holds ``only``, or one of its parts
    separated by ``|``); who is ``admin`` or ``reviewer`` (of the big Caf)."""
    return [page for page in _pages(data) if any(part in page[0] for part in only.split("|"))]


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
        ("response PDF, long bilan", "admin", "GET", f"/caf/reponses/{data.long_response_id}/bilan.pdf", None),
        ("correction form (page 8)", "admin", "GET", f"/caf/reponses/{data.long_response_id}/pages/8", None),
        ("dashboard, national", "admin", "GET", f"/caf/campagnes/{c}/tableau-de-bord", None),
        ("dashboard, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/tableau-de-bord", None),
        ("dashboard, national, Cafs by rate", "admin", "GET", f"/caf/campagnes/{c}/tableau-de-bord?tri=taux", None),
        ("list, one Caf (administrator)", "admin", "GET", f"/caf/campagnes/{c}?caf={data.big_caf}", None),
        ("reminder preview, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/apercu?{reminders}", None),
        ("reminder preview, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/apercu?{reminders}", None),
        ("emails form, national", "admin", "GET", f"/caf/campagnes/{c}/courriels", None),
        ("invitation preview, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/apercu?envoi=invitation",
         None),
        ("round progress, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/envoi?{reminders}", None),
        ("failed emails, national", "admin", "GET", f"/caf/campagnes/{c}/courriels/echecs", None),
        ("failed emails, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/courriels/echecs", None),
        ("export CSV, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/export.csv", None),
        ("export XLSX, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/export.xlsx", None),
        ("codebook CSV", "reviewer", "GET", f"/caf/campagnes/{c}/dictionnaire.csv", None),
        ("documents ZIP, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/documents.zip", None),
        ("free texts, national p.3", "admin", "GET", f"/caf/campagnes/{c}/textes?page=3", None),
        ("free texts, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/textes", None),
        ("search, national", "admin", "GET", f"/caf/campagnes/{c}/textes?q=enfants+confiance", None),
        ("search, national, filtered p.2", "admin", "GET", f"/caf/campagnes/{c}/textes?r.qpv=oui&q=familles&page=2", None),
        ("search, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/textes?q=autonomie", None),
        ("frequent terms, national", "admin", "GET", f"/caf/campagnes/{c}/termes", None),
        ("frequent terms, big Caf", "reviewer", "GET", f"/caf/campagnes/{c}/termes", None),
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
                      "SESSION_COOKIE_SECURE": False, "ADMIN_SECOND_FACTOR": False,
                      "OUTBOX_POLL_SECONDS": 0})  # the outbox's own polling would be counted with a page's statements
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
    app.extensions["outbox"].stop(10)
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


def memory(group: str) -> tuple[int, float, str]:
    """(processes, MiB of PSS, each one's share) of a server's process group: its master, its workers and,
    under deploy/gunicorn.conf.py, the email sender; shared pages split fairly."""
    shares = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if stat[stat.rindex(")") + 2:].split()[2] != group:
                continue
            rollup = (entry / "smaps_rollup").read_text()
            name = (entry / "comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            continue
        role = "master" if entry.name == group else "sender" if name == SENDER_NAME else "worker"
        shares.append((role, next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")) / 1024))
    shares.sort()
    return len(shares), sum(mib for _, mib in shares), ", ".join(f"{role} {mib:.0f}" for role, mib in shares)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,15000", help="responses over all campaigns, per run")
    parser.add_argument("--campaigns", type=int, default=3)
    parser.add_argument("--requests", type=int, default=12, help="requests per page, level and client thread")
    parser.add_argument("--levels", default="1,4")
    parser.add_argument("--workers", type=int, default=DEPLOYED_WORKERS, help="gunicorn workers (default: one per core, as deployed)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread above 1)")
    parser.add_argument("--config", help="a gunicorn configuration file to serve with, e.g. deploy/gunicorn.conf.py "
                                         "(its hooks apply; --workers and --threads still decide)")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database-name", default="clas_bench_caf", help="PostgreSQL database (emptied)")
    parser.add_argument("--only", default="", help="only the pages whose name holds this (or one of its parts separated by |), "
                                                   "e.g. dashboard or 'texts|terms'")
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
           "SURVEY_ADMIN_SECOND_FACTOR": "0",  # the benchmark signs in with a password alone
           # The data holds emails still to send and no SMTP server listens: the sender tries once, at its start,
           # rather than every 5 s during the measures (and its log stays readable).
           "SURVEY_OUTBOX_POLL_SECONDS": "3600"}
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
            served = {"workers": args.workers, "threads": args.threads, "config": args.config}
            ports = {"this": stack.enter_context(gunicorn("wsgi:app", env, **served))}
            if args.compare_with:
                ports["other"] = stack.enter_context(gunicorn("wsgi:app", env, root=args.compare_with, **served))
            times, errors = latencies(ports, data, levels, args.requests, args.only)
            memories = {server: memory(port.group) for server, port in ports.items()}
        error_count += len(errors)
        print("  after serving every page: " + " | ".join(
            f"{processes} processes, {pss:.0f} MiB PSS ({shares})" for processes, pss, shares in memories.values())
            + (" (this | other)" if args.compare_with else ""))
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
