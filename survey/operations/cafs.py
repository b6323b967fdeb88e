"""A Caf’s settings (checked by :mod:`survey.caf_settings`) and its own window per campaign."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..caf_settings import CONTACT_LIMITS, CafSettings, read_timezone, settings_problems
from ..deadline import forget_caf_windows
from ..errors import DomainError
from ..models import Caf, CafWindow, Campaign

__all__ = ["CafSettings", "CafSettingsRefused", "caf_by_number", "read_timezone", "remove_caf_window", "set_caf_window",
           "update_caf"]


class CafSettingsRefused(DomainError):
    """Settings refused; ``problems`` maps each field to its French message (all of them at once)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()))
        self.problems = problems


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
