"""What a Caf’s settings may be: checked alike by the admin page, the ``set-caf`` command and the import."""
from dataclasses import dataclass

from .engine.forms.validators import Email
from .models.caf import TIMEZONES

CONTACT_LIMITS = {"contact_email": 254, "contact_phone": 40, "contact_address": 500, "contact_hours": 200,
                  "contact_note": 1000}
CONTACT_LABELS = {"contact_email": "L’adresse électronique", "contact_phone": "Le téléphone",
                  "contact_address": "L’adresse postale", "contact_hours": "Les horaires",
                  "contact_note": "Le texte libre"}


@dataclass
class CafSettings:
    """A Caf’s settings as typed (stripped and checked by :func:`settings_problems`)."""

    name: str
    timezone: str
    contact_email: str = ""
    contact_phone: str = ""
    contact_address: str = ""
    contact_hours: str = ""
    contact_note: str = ""


def read_timezone(text: str) -> str | None:
    """A zone given by its name (``Indian/Reunion``) or its French label (``La Réunion``); None if unknown."""
    wanted = (text or "").strip().casefold()
    for zone, label in TIMEZONES.items():
        if wanted in (zone.casefold(), label.casefold()):
            return zone
    return None


def settings_problems(settings: CafSettings) -> dict[str, str]:
    """Every refusal of ``settings``, by field, in French (empty when they may be saved)."""
    problems = {}
    if not settings.name.strip() or len(settings.name.strip()) > 200:
        problems["name"] = "Indiquez le nom de la Caf (200 caractères au plus)."
    if settings.timezone not in TIMEZONES:
        problems["timezone"] = "Choisissez un fuseau horaire de la liste."
    for field, limit in CONTACT_LIMITS.items():
        if len(getattr(settings, field).strip()) > limit:
            problems[field] = f"{CONTACT_LABELS[field]} compte {limit} caractères au plus."
    email = settings.contact_email.strip()
    if email and "contact_email" not in problems and not Email().regex.fullmatch(email):
        problems["contact_email"] = "Indiquez une adresse électronique valide, par exemple clas@caf73.example."
    return problems
