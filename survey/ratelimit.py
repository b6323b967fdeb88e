"""Rate limits on the two doors one could try to guess through: personal links and sign-in.

Only the guarded views pay for the check (a moving window per client
address, in memory or in Redis with ``SURVEY_RATELIMIT_STORAGE_URI``); the
other pages do not go through any hook. Behind a reverse proxy, set
``SURVEY_PROXIES`` so that the address is the client's, not the proxy's.
"""
import logging
import time
from functools import wraps

from flask import abort, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)
STORE_TIMEOUT = 0.5  # seconds: a silent store must not hold a worker


class GuessingGuard:
    def __init__(self, storage_uri: str):
        options = {"socket_connect_timeout": STORE_TIMEOUT, "socket_timeout": STORE_TIMEOUT} \
            if storage_uri.startswith("redis") else {}
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self.last_complaint = 0.0

    def limit(self, view, rates: str, methods=None):
        """``view`` answering 429 once a client address went over ``rates`` ("30 per minute; 300 per hour")."""
        items = parse_many(rates)

        @wraps(view)
        def guarded(*args, **kwargs):
            if (methods is None or request.method in methods) and not self._allows(items, view.__name__):
                abort(429)
            return view(*args, **kwargs)
        return guarded

    def _allows(self, items, scope) -> bool:
        address = request.remote_addr or "unknown"
        try:
            return all([self.window.hit(item, scope, address) for item in items])  # every window counts the hit
        except Exception:  # noqa: BLE001 - an unreachable store must not close the doors
            # Tokens carry 192 random bits and sign-in has its own throttle in
            # the database: letting the request through is the lesser harm.
            if time.monotonic() - self.last_complaint > 60:
                self.last_complaint = time.monotonic()
                logger.exception("rate-limit store unavailable; requests let through")
            return True
