"""Personal-link tokens stay out of logs: ``/r/<token>`` is written ``/r/[jeton]``.

A token opens a partner's bilan; an access log kept for a year (or shipped to
a log service) must not be a list of working links. Used by the gunicorn
configuration (``deploy/gunicorn.conf.py``) for the access log, and by the
application's own logger (a traceback names the request's path).
"""
import logging
import re

TOKEN_IN_PATH = re.compile(r"/r/[^/?#\s\"']+")
MASK = "/r/[jeton]"


def mask_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(MASK, text)


class MaskTokens(logging.Filter):
    """A logging filter that masks tokens in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True
