"""gunicorn settings for production: ``.venv/bin/gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Command-line options override these (``--workers 4``, ``--bind 10.0.0.5:8000``).
The access log masks personal-link tokens (``/r/[jeton]``): a log line must
never be a working link to a partner's bilan.
"""
import os

from gunicorn.glogging import Logger

from survey.logmask import mask_tokens

# Only the reverse proxy may reach the application (see docs/deployment.md):
# with SURVEY_PROXIES=1, whoever reaches a node directly could forge their address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One worker per core, each with 4 threads: half the memory of 4 sync workers for the same throughput
# (bench/RESULTS.md, bench.caf and bench.rush); the proxy buffers slow bodies so they never hold one.
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = 60
graceful_timeout = 30
# A worker restarts after this many requests (and a few more, spread), so a slow leak never grows.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# The client's address as the proxy saw it (X-Forwarded-For), the request, status, size, referer, duration.
access_log_format = '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


class TokenMaskingLogger(Logger):
    """gunicorn's logger, with personal-link tokens masked in every field of the access log."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask_tokens(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = TokenMaskingLogger


def post_worker_init(worker):
    """Each worker's outbox sends pending emails from its start, not from its first request."""
    outbox = getattr(worker.wsgi, "extensions", {}).get("outbox")
    if outbox is not None:
        outbox.start_polling()
