"""gunicorn settings for production: ``.venv/bin/gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Command-line options override these (``--workers 4``, ``--bind 10.0.0.5:8000``).
The access log masks personal-link tokens (``/r/[jeton]``): a log line must
never be a working link to a partner's bilan.
"""
import ctypes
import ctypes.util
import gc
import os
import time

from gunicorn.glogging import Logger

from survey.logmask import mask_tokens

# Only the reverse proxy may reach the application (see docs/deployment.md):
# with SURVEY_PROXIES=1, whoever reaches a node directly could forge their address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One sync worker per core: half the memory of 4 sync workers, and more bilans per second than either 4 sync
# workers or one worker per core with 3 threads, whose threads wait on each other for the interpreter's lock
# (bench/RESULTS.md, deadline rush, thirteenth session). The proxy buffers slow bodies and downloads, so a slow
# client never holds a worker; GUNICORN_THREADS above 1 serves with threaded workers instead.
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = 60
# The application is imported once, by the master, before the workers are forked: they share its pages
# for as long as nothing writes to them, and gc.freeze() keeps the collector from writing to them.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
# One sender process per node sends every email, at a lower CPU priority (survey/mail/sender.py): the
# receipts' PDFs never slow a worker's pages. It needs the preloaded application; GUNICORN_MAIL_SENDER=0
# (or GUNICORN_PRELOAD=0) leaves the sending to each worker's own thread instead.
mail_sender = preload_app and os.environ.get("GUNICORN_MAIL_SENDER", "1") == "1"
_sender = []  # the master's Sender, once started
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


# After a slow request (a national reminder preview, an export, the frequent terms of every bilan), the C
# allocator keeps the memory that request freed, per thread: give it back to the system. The trim costs
# 3 to 25 ms, so only requests slower than TRIM_AFTER_SECONDS pay it, and otherwise at most one request every
# TRIM_EVERY_SECONDS (bench/RESULTS.md, memory).
TRIM_AFTER_SECONDS = 0.1
TRIM_EVERY_SECONDS = 10
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
_malloc_trim = getattr(_libc, "malloc_trim", None)  # glibc only
# Two allocation arenas per process rather than one per thread (glibc's default allows 8 per core):
# less memory kept aside by each thread (the sender's, threaded workers'); set in the master, inherited by the workers.
M_ARENA_MAX = -8
if hasattr(_libc, "mallopt"):
    _libc.mallopt(M_ARENA_MAX, int(os.environ.get("CLAS_MALLOC_ARENAS", 2)))


def pre_request(worker, req):
    req.clas_started = time.monotonic()


_last_trim = [0.0]


def post_request(worker, req, environ, resp):
    now = time.monotonic()
    slow = now - getattr(req, "clas_started", now) > TRIM_AFTER_SECONDS
    if _malloc_trim is not None and (slow or now - _last_trim[0] > TRIM_EVERY_SECONDS):
        _last_trim[0] = now
        gc.collect()  # the cycles that request left, first (the frozen start-up objects are not walked)
        _malloc_trim(0)


def when_ready(server):
    """Before the first fork, with the application preloaded: do once, in the master, what each worker would
    do on its first requests (configure the ORM's mappers, compile every template), so that the workers share
    it; then freeze the collector's view of all that, so that it never writes to those shared pages."""
    if not preload_app:
        return
    from sqlalchemy.orm import configure_mappers

    app = server.app.wsgi()
    configure_mappers()
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    # Every node builds receipts' PDFs, and a sender forked again after being idle would spend 140 ms
    # importing reportlab before its first one: import it once here, shared.
    import survey.documents.pdf  # noqa: F401
    gc.freeze()
    if mail_sender:
        from survey.mail.sender import Sender

        _sender.append(Sender(app, server.log, inherited=server.LISTENERS))
        _sender[0].start()


def post_worker_init(worker):
    """Each worker hands its emails to the node's sender, or sends them itself from its start (not from its
    first request) when there is none."""
    outbox = getattr(worker.wsgi, "extensions", {}).get("outbox")
    if outbox is None:
        return
    if _sender:
        _sender[0].attach(outbox)
    else:
        outbox.start_polling()


def on_exit(server):
    """The sender finishes the message in hand and stops with the master."""
    if _sender:
        _sender[0].stop()
