"""The current instant. Tests may freeze it with the ``FROZEN_NOW`` setting."""
from datetime import datetime

from flask import current_app

from .models.types import utcnow


def now() -> datetime:
    frozen = current_app.config.get("FROZEN_NOW")
    return frozen() if callable(frozen) else (frozen or utcnow())
