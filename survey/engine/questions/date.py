"""A calendar date, typed the French way (15/07/2024) and stored ISO (2024-07-15)."""
import re
from datetime import date

from marshmallow import ValidationError, fields, validates_schema

from ..forms.fields import CleanStringField
from ..timefmt import MONTHS, format_day
from .base import InputOptions, ParsedQuestion

# jj/mm/aaaa (or with - or . between), or the ISO form a browser or a copy may give.
FRENCH = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def short(day: date) -> str:
    return day.strftime("%d/%m/%Y")


class DateOptions(InputOptions):
    min = fields.Date(load_default=None)
    max = fields.Date(load_default=None)

    @validates_schema
    def _bounds(self, data, **kwargs):
        if data["min"] and data["max"] and data["min"] > data["max"]:
            raise ValidationError("min est après max", "min")


class DateQuestion(ParsedQuestion):
    name = "date"
    kind_label = "date"
    export_width = 12
    options_schema = DateOptions
    macro = "formatted"
    keeps_invalid = True
    chart = "bars"

    def __init__(self, common, options, page_index):
        # Kept as the JSON wrote them, so that two definitions compare equal for carry-over.
        as_json = {key: options[key].isoformat() if options[key] else None for key in ("min", "max")}
        super().__init__(common, {**options, **as_json}, page_index)
        self.min = options["min"]
        self.max = options["max"]

    def input_attributes(self):
        return {"type": "text", **({"autocomplete": self.autocomplete} if self.autocomplete else {})}

    def format_hint(self):
        bounds = ""
        if self.min and self.max:
            bounds = f", entre le {short(self.min)} et le {short(self.max)}"
        elif self.min:
            bounds = f", le {short(self.min)} ou après"
        elif self.max:
            bounds = f", le {short(self.max)} ou avant"
        return f"Format : jj/mm/aaaa, par exemple 15/07/2024{bounds}."

    def build_fields(self):
        return {self.code: CleanStringField(self.label)}

    def form_data(self, answers, invalid):
        if self.code in invalid:
            return {self.code: invalid[self.code]["value"]}
        value = answers.get(self.code)
        return {self.code: short(date.fromisoformat(value)) if value else None}

    def parse(self, text: str) -> str:
        """The ISO date typed in ``text``; ValueError with a French message otherwise."""
        text = text.replace(" ", "")
        french, iso = FRENCH.fullmatch(text), ISO.fullmatch(text)
        if not (french or iso):
            raise ValueError("Écrivez la date sous la forme jj/mm/aaaa, par exemple 15/07/2024.")
        day, month, year = french.groups() if french else reversed(iso.groups())
        try:
            typed = date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"Le {text} n’existe pas dans le calendrier : vérifiez le jour et le mois.") from None
        if self.min and typed < self.min:
            raise ValueError(f"La date doit être le {short(self.min)} ou après.")
        if self.max and typed > self.max:
            raise ValueError(f"La date doit être le {short(self.max)} ou avant.")
        return typed.isoformat()

    def display(self, value):
        return [format_day(date.fromisoformat(value))] if value else []

    def export_cells(self, answers, labels):
        value = answers.get(self.code)
        return [date.fromisoformat(value) if value else ""]

    def codebook_cell(self):
        return "date (jj/mm/aaaa)"

    def tally(self, value):
        return [value[:7]]

    def distribution(self, counts):
        """Answers by month, in the calendar's order."""
        return [(f"{MONTHS[int(month[5:7]) - 1]} {month[:4]}", counts[month]) for month in sorted(counts)]
