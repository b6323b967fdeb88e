"""Rate limits on the two doors one could try to guess through: personal links and sign-in.

Only the guarded views pay for the check (a moving window per client
address, in memory or in Redis with ``SURVEY_RATELIMIT_STORAGE_URI``); the
other pages do not go through any hook.
"""
import logging
from functools import wraps

from flask import abort, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)


class GuessingGuard:
    def __init__(self, storage_uri: str):
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def limit(self, view, rate: str, methods=None):
        """``view`` answering 429 once a client address went over ``rate`` (e.g. "30 per minute")."""
        item = parse(rate)

        @wraps(view)
        def guarded(*args, **kwargs):
            if (methods is None or request.method in methods) and not self._allows(item, view.__name__):
                abort(429)
            return view(*args, **kwargs)
        return guarded

    def _allows(self, item, scope) -> bool:
        try:
            return self.window.hit(item, scope, request.remote_addr or "unknown")
        except Exception:  # noqa: BLE001 - an unreachable store must not close the doors
            # Tokens carry 192 random bits and sign-in has its own throttle in
            # the database: letting the request through is the lesser harm.
            logger.exception("rate-limit store unavailable; request let through")
            return True
