"""The shipped deployment files: gunicorn's access log and nginx's keep personal-link tokens out,
and the nginx reference configuration of docs/deployment.md is valid."""
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from survey.logmask import MaskTokens, mask_tokens
from tests.smtp import free_port

ROOT = Path(__file__).parent.parent
TOKEN = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4"


def test_mask_tokens():
    assert mask_tokens(f"GET /r/{TOKEN}?utm=x HTTP/1.1") == "GET /r/[jeton]?utm=x HTTP/1.1"
    assert mask_tokens("GET /bilan/page/1 HTTP/1.1") == "GET /bilan/page/1 HTTP/1.1"


def test_the_application_log_masks_tokens(app, caplog):
    record = logging.LogRecord("survey", logging.ERROR, __file__, 1, f"Exception on /r/{TOKEN} [GET]", (), None)
    assert MaskTokens().filter(record) and TOKEN not in record.getMessage()
    assert any(isinstance(f, MaskTokens) for f in app.logger.filters)


def wait_for(port, process, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(Path(log).read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def stop(process):
    """SIGTERM to the node's whole process group (a master already killed leaves its orphans in it)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    process.wait(10)


def node_environment(tmp_path, **settings) -> dict:
    """A node's environment: ours without any SURVEY_ variable, a new secret, a SQLite database in ``tmp_path``
    migrated with init-db, and ``settings`` (SURVEY_ variables) on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURVEY_")}
    env.update({"SURVEY_SECRET_KEY": secrets.token_hex(16), "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    env.update(settings)
    subprocess.run([sys.executable, "-m", "flask", "--app", "survey", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return env


@contextmanager
def running_node(tmp_path, env, *options):
    """gunicorn started with deploy/gunicorn.conf.py, as the README says, and ``options`` (``--workers 2``...):
    yields the master's process, its port and its log, once it listens; stopped at the end if still running."""
    port = free_port()
    log = tmp_path / "gunicorn.out"
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", *options,
                                    "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(port, process, log)
        yield process, port, log
    finally:
        stop(process)


@pytest.fixture
def node(tmp_path):
    """One worker, behind the proxy as production is."""
    env = node_environment(tmp_path, SURVEY_UPLOAD_DIR=str(tmp_path / "uploads"), SURVEY_PROXIES="1")
    with running_node(tmp_path, env, "--workers", "1") as (_, port, log):
        yield port, log


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a local test server
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorns_access_log_masks_personal_links(node):
    port, log = node
    assert get(f"http://127.0.0.1:{port}/r/{TOKEN}") == 404
    assert get(f"http://127.0.0.1:{port}/r/{TOKEN}?source=courriel") == 404
    time.sleep(0.5)
    text = log.read_text()
    assert '"GET /r/[jeton] HTTP/1.1" 404' in text and "/r/[jeton]?source=courriel" in text
    assert TOKEN not in text


def nginx_configuration() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    return re.search(r"```nginx\n(.*?)```", text, re.S).group(1)


def test_the_reference_nginx_configuration_has_what_the_notes_promise():
    conf = nginx_configuration()
    for directive in ("proxy_next_upstream error timeout non_idempotent;", "proxy_next_upstream_tries 2;",
                      "proxy_request_buffering on;", "client_max_body_size 50m;", "server_tokens off;",
                      "Strict-Transport-Security", "proxy_set_header X-Forwarded-For $remote_addr;",
                      "proxy_set_header X-Forwarded-Proto $scheme;", "access_log /var/log/nginx/clas-access.log clas_masked;"):
        assert directive in conf, directive
    from survey.config import build_config
    assert build_config({"SECRET_KEY": "x"})["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024  # client_max_body_size


def test_nginx_with_the_reference_configuration_masks_tokens(node, tmp_path):
    if not (shutil.which("nginx") and shutil.which("openssl")):
        if os.environ.get("SURVEY_REQUIRE_NGINX") == "1":
            pytest.fail("nginx and openssl are required (SURVEY_REQUIRE_NGINX=1)")
        pytest.skip("nginx or openssl not installed (Debian: apt-get install nginx)")
    port, _ = node
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    https, http = free_port(), free_port()
    conf = (nginx_configuration()
            .replace("server 10.0.0.11:8000", f"server 127.0.0.1:{port}").replace("    server 10.0.0.12:8000 max_fails=1 fail_timeout=10s;\n", "")
            .replace("/var/log/nginx/clas-access.log", str(tmp_path / "access.log"))
            .replace("/etc/ssl/clas/fullchain.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/ssl/clas/privkey.pem", str(tmp_path / "key.pem"))
            .replace("listen 443", f"listen 127.0.0.1:{https}").replace("listen [::]:443 ssl http2;\n", "")
            .replace("listen 80;", f"listen 127.0.0.1:{http};").replace("    listen [::]:80;\n", ""))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {tmp_path}/body;\nproxy_temp_path {tmp_path}/proxy;\n"
        f"{conf}\n}}\n")
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(https, process, tmp_path / "error.log")
        import ssl
        context = ssl._create_unverified_context()  # noqa: S323 - a self-signed test certificate
        request = urllib.request.Request(f"https://127.0.0.1:{https}/r/{TOKEN}", headers={"X-Forwarded-For": "6.6.6.6"})
        try:
            urllib.request.urlopen(request, context=context, timeout=10)  # noqa: S310
        except urllib.error.HTTPError as error:
            assert error.code == 404
            assert "max-age=31536000" in error.headers["Strict-Transport-Security"]
            assert error.headers["Server"] == "nginx"  # no version
        time.sleep(0.3)
        logged = (tmp_path / "access.log").read_text()
        assert "GET /r/[jeton] HTTP/1.1" in logged and TOKEN not in logged
    finally:
        stop(process)


def test_the_gunicorn_configuration_trims_memory_after_slow_requests_and_at_most_every_few_seconds_otherwise():
    import runpy
    import time
    from types import SimpleNamespace

    config = runpy.run_path("deploy/gunicorn.conf.py")
    assert config["preload_app"] and config["threads"] == 1  # sync workers: bench/RESULTS.md, deadline rush
    trims = []
    config["post_request"].__globals__["_malloc_trim"] = lambda pad: trims.append(pad)
    config["post_request"].__globals__["_last_trim"][0] = time.monotonic()  # just trimmed
    request = SimpleNamespace()
    config["pre_request"](None, request)
    config["post_request"](None, request, {}, None)
    assert trims == []  # a fast request, a recent trim: nothing to pay
    request.clas_started -= 1  # a request that took a second
    config["post_request"](None, request, {}, None)
    assert trims == [0]
    config["post_request"].__globals__["_last_trim"][0] -= config["TRIM_EVERY_SECONDS"] + 1
    config["pre_request"](None, request)
    config["post_request"](None, request, {}, None)
    assert trims == [0, 0]  # a fast one, long after the last trim


MASTER_BEFORE_THE_FORK = """
import json, runpy, sys
from types import SimpleNamespace
from survey import create_app

app = create_app({"DATABASE_URL": "sqlite:///%s/master.sqlite3", "ENV": "development", "SECRET_KEY": "master"})
config = runpy.run_path("deploy/gunicorn.conf.py")
before = "reportlab" in sys.modules
config["when_ready"](SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app)))
print(json.dumps({"before": before, "after": "reportlab" in sys.modules,
                  "templates": len(app.jinja_env.cache or {}) >= len(app.jinja_env.list_templates())}))
"""


def test_the_preloaded_master_imports_the_pdf_library_and_compiles_every_template_before_the_fork(tmp_path):
    env = {**os.environ, "GUNICORN_MAIL_SENDER": "0", "GUNICORN_PRELOAD": "1"}
    result = subprocess.run([sys.executable, "-c", MASTER_BEFORE_THE_FORK % tmp_path], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    # Lazy in the application (a command never loads it), loaded once by the master for every worker and sender.
    assert seen == {"before": False, "after": True, "templates": True}
