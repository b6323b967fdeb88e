"""Shared pieces of the benchmarks: servers on 127.0.0.1, a small HTTP client, answers."""
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from survey.mail.sender import PROCESS_NAME

ROOT = Path(__file__).resolve().parent.parent
CLAS = json.loads((ROOT / "survey/definitions/clas-2023-2024.json").read_text(encoding="utf-8"))
PDF = b"%PDF-1.4\n" + b"0" * 20_000 + b"\n%%EOF\n"
SENDER_NAME = PROCESS_NAME.decode()  # the node's email sender, as /proc names it
# The benchmarks serve as deployed unless told otherwise: one sync worker per core (deploy/gunicorn.conf.py).
DEPLOYED_WORKERS = os.cpu_count() or 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far (user + system) by process group id, and by every ``postgres`` process together.

    Read from /proc (Linux): what the servers cost per completed bilan,
    a steadier figure than a rate on a machine shared with other work. A
    process's children that ended and were reaped count in its own figure
    (a worker gunicorn restarted, the email sender, a PostgreSQL backend):
    nothing used leaves the total. The email sender, while it runs, also
    counts under ``"<group> sender"``.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        seconds = sum(int(value) for value in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        key = "postgres" if name == "postgres" else fields[2]  # the process group
        used[key] = used.get(key, 0.0) + seconds
        if name == SENDER_NAME:  # also counted apart: "<group> sender"
            used[f"{key} sender"] = used.get(f"{key} sender", 0.0) + seconds
    return used


# One access-log line per request: method, path, microseconds from reading the request to sending the answer.
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(D)s"


@contextmanager
def gunicorn(app: str, env: dict, workers: int = 2, threads: int = 1, access_log: str | None = None, root=ROOT,
             config: str | None = None):
    """Serve ``app`` with gunicorn on 127.0.0.1, from the project folder ``root``; yields the port; always stops it.

    With ``config`` (e.g. ``deploy/gunicorn.conf.py``), gunicorn reads that file first (its hooks included);
    the options given here override it, and its access log is left out unless ``access_log`` is given.

    The server runs in its own process group: ``port.group`` names it in :func:`cpu_seconds`.
    With ``access_log``, gunicorn writes each request's own time there (:data:`ACCESS_LOG_FORMAT`).
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--log-level", "warning", app]
    if access_log:
        command[-1:-1] = ["--access-logfile", access_log, "--access-logformat", ACCESS_LOG_FORMAT]
    elif config:
        command[-1:-1] = ["--access-logfile", os.devnull]
    if config:
        command[-1:-1] = ["--config", config]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, **env}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as refused:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start") from refused
                time.sleep(0.1)
        yield Port(port, str(process.pid))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


class Port(int):
    """A port number that also names its server's process group."""

    def __new__(cls, number: int, group: str):
        port = super().__new__(cls, number)
        port.group = group
        return port


class Client:
    """A browser-like client: one keep-alive connection, cookies, CSRF and version from the last page."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
    VERSION = re.compile(r'name="version" value="(\d+)"')

    def __init__(self, port: int, source: str | None = None):
        """``source``: another loopback address (127.x.y.z) to come from, as a partner elsewhere would."""
        self.port = int(port)
        self.source = (source, 0) if source else None
        self.connection = self._connect()
        self.cookies = {}
        self.html = ""

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = self._connect()
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.headers.get_content_type() == "text/html":
            self.html = data.decode("utf-8", "replace")
        return response.status, data

    def _connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=self.source)

    def get(self, path):
        return self.request("GET", path)

    def hidden(self):
        token, version = self.TOKEN.search(self.html), self.VERSION.search(self.html)
        return {"csrf_token": token.group(1) if token else "", "version": version.group(1) if version else ""}

    def post(self, path, fields, files=None):
        fields = {**self.hidden(), **fields}
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urlencode(fields, doseq=True).encode(), "application/x-www-form-urlencoded"
        return self.request("POST", path, body, {"Content-Type": content_type})

    def close(self):
        self.connection.close()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    for name, (filename, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def loopback_address(seed: int) -> str:
    """A distinct loopback address per simulated partner (Linux routes all of 127.0.0.0/8 to lo)."""
    return f"127.{1 + seed // 62500 % 250}.{1 + seed // 250 % 250}.{1 + seed % 250}"


def question(code):
    return next(q for page in CLAS["pages"] for q in page["questions"] if q["code"] == code)


def clas_answers(seed: int = 0) -> dict[int, dict]:
    """Form data for every page of Clas 2023-2024 (varied by ``seed``)."""
    def grid(code):
        spec = question(code)
        columns = [c["code"] for c in spec["columns"]]
        return {f"{code}__{r['code']}": columns[(seed + i) % len(columns)] for i, r in enumerate(spec["rows"])}
    return {
        1: {"nom_structure": f"Structure {seed}", "statut_structure": "autre", "statut_structure_autre": "Fondation",
            "caf_nom": "Caf de la Savoie", "caf_numero": "731", "email": f"contact{seed}@structure.example",
            "siret": "77567227200017", "siren": "775672272"},
        2: {"lieu_action": f"Salle {seed}", "commune": "Chambéry", "code_postal": "73000", "code_insee": "73065",
            "numero_voie": str(seed % 100), "voie": "rue de la Gare"},
        3: {"qpv": "oui" if seed % 2 else "non", "tranches_age": ["primaire", "college"]},
        4: grid("situations_enfants"),
        5: grid("types_activites"),
        6: {"contractualisation": "oui", **grid("actions_parents")},
        7: grid("origine_inscription"),
        8: {"formation_coordinateur": "oui", "formation_animateurs": "non",
            "bilan_qualitatif": f"Bilan {seed} : " + "les enfants ont progressé en lecture et en confiance. " * 8},
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        memory = f", {int(open('/proc/meminfo').read().split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    return f"{cores} cores{memory}, Python {sys.version.split()[0]}"


def new_secret() -> str:
    return secrets.token_hex(16)
