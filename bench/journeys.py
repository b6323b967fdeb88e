"""What a simulated partner does over HTTP, against the engine or the baseline."""
import time
from collections import defaultdict

from .common import PDF, Client, clas_answers, loopback_address

FILE_PAGE = 8  # the page where the partner attaches the document


class Timings:
    def __init__(self):
        self.latencies = defaultdict(list)
        self.errors = []
        self.samples = []

    def record(self, kind, started, status, expected, body=b""):
        self.latencies[kind].append(time.perf_counter() - started)
        if status not in expected:
            self.errors.append((kind, status))
            if len(self.samples) < 3:
                self.samples.append(body)

    def merge(self, other):
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        self.errors.extend(other.errors)


def open_link(client: Client, token: str, timings: Timings):
    started = time.perf_counter()
    status, _ = client.get(f"/r/{token}")
    timings.record("open link", started, status, (302,))


def view_page(client: Client, number: int, timings: Timings):
    started = time.perf_counter()
    status, _ = client.get(f"/bilan/page/{number}")
    timings.record("GET page", started, status, (200,))


def save_page(client: Client, number: int, data: dict, timings: Timings, with_file=False):
    started = time.perf_counter()
    files = {"document": ("bilan.pdf", PDF)} if with_file else None
    status, body = client.post(f"/bilan/page/{number}", {**data, "action": "next"}, files)
    timings.record("POST page" if not with_file else "POST page + file", started, status, (302, 303), body)


def request_kind(method: str, path: str) -> str | None:
    """The kind, as :class:`Timings` names it, of a request the journey sends (read back from the server's log)."""
    if path.startswith("/r/"):
        return "open link"
    if path.startswith("/bilan/page/"):
        if method == "GET":
            return "GET page"
        return "POST page + file" if path == f"/bilan/page/{FILE_PAGE}" else "POST page"
    return {"/bilan/recapitulatif": "GET summary", "/bilan/transmettre": "POST transmit"}.get(path)


def complete_journey(port: int, token: str, seed: int, timings: Timings):
    """Open the link, answer every page (file on the last), read the summary, transmit.

    Each partner comes from its own loopback address, so that the link's rate
    limit (per address) applies as it would to partners in different places.
    """
    client = Client(port, loopback_address(seed))
    try:
        open_link(client, token, timings)
        for number, data in clas_answers(seed).items():
            view_page(client, number, timings)
            save_page(client, number, data, timings, with_file=number == FILE_PAGE)
        started = time.perf_counter()
        status, _ = client.get("/bilan/recapitulatif")
        timings.record("GET summary", started, status, (200,))
        started = time.perf_counter()
        status, _ = client.post("/bilan/transmettre", {"certifie": "oui"})
        timings.record("POST transmit", started, status, (302, 303))
    finally:
        client.close()
