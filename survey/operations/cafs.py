"""A Caf’s settings: time zone, contact, and its own window per campaign."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..deadline import forget_caf_windows
from ..errors import DomainError
from ..engine.forms.validators import Email
from ..models import Caf, CafWindow, Campaign
from ..models.caf import TIMEZONES

CONTACT_LIMITS = {"contact_email": 254, "contact_phone": 40, "contact_address": 500, "contact_hours": 200,
                  "contact_note": 1000}
CONTACT_LABELS = {"contact_email": "L’adresse email", "contact_phone": "Le téléphone",
                  "contact_address": "L’adresse postale", "contact_hours": "Les horaires",
                  "contact_note": "Le texte libre"}


class CafSettingsRefused(DomainError):
    """Settings refused; ``problems`` maps each field to its French message (all of them at once)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()))
        self.problems = problems


@dataclass
class CafSettings:
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
        problems["contact_email"] = "Indiquez une adresse email valide, par exemple clas@caf73.example."
    return problems


def update_caf(db: Session, caf: Caf, settings: CafSettings) -> Caf:
    """Save a Caf’s name, zone and contact and commit; refuses (changing nothing) with every problem at once."""
    problems = settings_problems(settings)
    if problems:
        raise CafSettingsRefused(problems)
    caf.name = settings.name.strip()
    caf.timezone = settings.timezone
    for field in CONTACT_LIMITS:
        setattr(caf, field, getattr(settings, field).replace("\r\n", "\n").strip() or None)
    db.commit()
    return caf


def caf_by_number(db: Session, number: str) -> Caf:
    caf = db.scalar(select(Caf).where(Caf.number == (number or "").strip()))
    if caf is None:
        raise DomainError(f"Aucune Caf n’a le numéro {number}.")
    return caf


def get_caf_window(db: Session, caf_id: int, campaign_id: int) -> CafWindow | None:
    return db.scalar(select(CafWindow).where(CafWindow.caf_id == caf_id, CafWindow.campaign_id == campaign_id))


def set_caf_window(db: Session, caf: Caf, campaign: Campaign, opens_at: datetime, closes_at: datetime) -> CafWindow:
    """Give a Caf its own opening and closing for a campaign (replacing any earlier one); commits."""
    if opens_at >= closes_at:
        raise DomainError("L’ouverture doit précéder la fermeture.")
    window = get_caf_window(db, caf.id, campaign.id)
    if window is None:
        window = CafWindow(caf_id=caf.id, campaign_id=campaign.id, opens_at=opens_at, closes_at=closes_at)
        db.add(window)
    else:
        window.opens_at, window.closes_at = opens_at, closes_at
    db.commit()
    forget_caf_windows(db)
    return window


def remove_caf_window(db: Session, caf: Caf, campaign: Campaign) -> bool:
    """The Caf’s projects follow the campaign’s dates again (commits); False if it had no window of its own."""
    window = get_caf_window(db, caf.id, campaign.id)
    if window is None:
        return False
    db.delete(window)
    db.commit()
    forget_caf_windows(db)
    return True
