"""Dates, times and numbers as French people read them, in a Caf's time zone."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")
ZONE_NAMES = {
    "Europe/Paris": "heure de Paris",
    "America/Guadeloupe": "heure de la Guadeloupe",
    "America/Martinique": "heure de la Martinique",
    "America/Cayenne": "heure de la Guyane",
    "Indian/Reunion": "heure de La Réunion",
    "Indian/Mayotte": "heure de Mayotte",
    "America/Miquelon": "heure de Saint-Pierre-et-Miquelon",
}


# French keeps some spaces from breaking a line: inside a time (23 h 59), between a number's groups of three (10 000).
NO_BREAK = "\u00a0"
NUMBER_GROUP_SEPARATOR = NO_BREAK


def zone_name(tz_name: str) -> str:
    return ZONE_NAMES.get(tz_name, f"fuseau {tz_name}")


def local(moment: datetime, tz_name: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz_name))


def format_date(moment: datetime, tz_name: str) -> str:
    """``lundi 15 juillet 2024``"""
    when = local(moment, tz_name)
    day = "1er" if when.day == 1 else str(when.day)
    return f"{DAYS[when.weekday()]} {day} {MONTHS[when.month - 1]} {when.year}"


def format_datetime(moment: datetime, tz_name: str) -> str:
    """``lundi 15 juillet 2024 à 23 h 59, heure de Paris`` (no-break spaces in ``23 h 59``: a line never splits it)."""
    when = local(moment, tz_name)
    hour = NO_BREAK.join((str(when.hour), "h", f"{when.minute:02d}"))
    return f"{format_date(moment, tz_name)} à {hour}, {zone_name(tz_name)}"


# A time as people type it: "9 h", "13 h 30" (not "9h30", which no line splits anyway).
_TYPED_TIME = re.compile(r"\b(\d{1,2}) h(?: (\d{2}))?\b")


def unbroken_times(text: str) -> str:
    """``text`` (a Caf's opening hours, as typed) with each time's spaces made no-break: « 13 h 30 » stays whole."""
    return _TYPED_TIME.sub(lambda time: NO_BREAK.join(part for part in (time[1], "h", time[2]) if part), text)


def parse_local(text: str, tz_name: str) -> datetime:
    """``2024-07-15 23:59:59`` read as wall-clock time in ``tz_name``, returned aware."""
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        raise ValueError("give a local date-time without offset")
    return naive.replace(tzinfo=ZoneInfo(tz_name))




def format_number(number: int) -> str:
    """``12 348`` (the space is a no-break space)."""
    return f"{number:,}".replace(",", NUMBER_GROUP_SEPARATOR)


def count_of(number: int, singular: str, plural: str | None = None) -> str:
    """``0 caractère``, ``1 caractère``, ``12 348 caractères``: French takes the singular below 2."""
    word = singular if abs(number) < 2 else (plural or singular + "s")
    return f"{format_number(number)} {word}"


def format_input(moment: datetime, tz_name: str) -> str:
    """``2024-07-15T23:59:59``: the value of a ``datetime-local`` field, in ``tz_name``."""
    return local(moment, tz_name).replace(tzinfo=None).isoformat(timespec="seconds")


def format_decimal(number: int | float) -> str:
    """``12 348,5``: a number as French writes it, the decimal comma, no trailing zeros."""
    if isinstance(number, float) and not number.is_integer():
        whole, _, fraction = f"{number:.10f}".rstrip("0").partition(".")
        return f"{format_number(int(whole))},{fraction}" if whole != "-0" else f"-0,{fraction}"
    return format_number(int(number))


def format_day(day) -> str:
    """``15 juillet 2024``, ``1er mars 2025``: a calendar date, without its weekday."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"
