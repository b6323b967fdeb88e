"""A number: whole or decimal, within bounds, typed the French way (12,5) and stored as a JSON number."""
import re
import statistics
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate, validates_schema

from ..forms.fields import CleanStringField
from ..timefmt import format_decimal
from .base import InputOptions, ParsedQuestion

# Digits with an optional sign and one decimal separator, once the spaces grouping thousands are gone.
NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
SPACES = re.compile(r"[\s\u00a0\u202f]")


class JsonNumber(fields.Field):
    """An int or a float of the JSON (not a boolean, not a string)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("un nombre est attendu")
        return value


class NumberOptions(InputOptions):
    integer = fields.Bool(load_default=False)
    min = JsonNumber(load_default=None)
    max = JsonNumber(load_default=None)
    step = JsonNumber(load_default=None, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.Str(load_default=None, validate=validate.Length(min=1, max=30))

    @validates_schema
    def _bounds(self, data, **kwargs):
        if data["min"] is not None and data["max"] is not None and data["min"] > data["max"]:
            raise ValidationError("min dépasse max", "min")


def as_json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


class NumberQuestion(ParsedQuestion):
    name = "number"
    kind_label = "nombre"
    export_width = 12
    options_schema = NumberOptions
    macro = "formatted"
    keeps_invalid = True
    chart = "figures"
    compares_numbers = True

    def input_attributes(self):
        attributes = {"type": "text", "inputmode": "numeric" if self.options["integer"] else "decimal"}
        return attributes | ({"autocomplete": self.autocomplete} if self.autocomplete else {})

    def format_hint(self):
        o = self.options
        kind = "Un nombre entier" if o["integer"] else "Un nombre"
        if o["min"] is not None and o["max"] is not None:
            bounds = f" de {format_decimal(o['min'])} à {format_decimal(o['max'])}"
        elif o["min"] is not None:
            bounds = f" d’au moins {format_decimal(o['min'])}"
        elif o["max"] is not None:
            bounds = f" d’au plus {format_decimal(o['max'])}"
        else:
            bounds = ""
        unit = f" ({o['unit']})" if o["unit"] else ""
        return f"{kind}{bounds}{unit}."

    def build_fields(self):
        return {self.code: CleanStringField(self.label)}

    def form_data(self, answers, invalid):
        if self.code in invalid:
            return {self.code: invalid[self.code]["value"]}
        value = answers.get(self.code)
        return {self.code: None if value is None else format_decimal(value).replace("\u00a0", "")}

    def parse(self, text: str) -> int | float:
        """The number typed in ``text``; ValueError with a French message when it is not one the question accepts."""
        o = self.options
        compact = SPACES.sub("", text)
        if not NUMBER.fullmatch(compact):
            example = "12" if o["integer"] else "12 ou 12,5"
            raise ValueError(f"Écrivez un nombre en chiffres, par exemple {example}.")
        try:
            number = Decimal(compact.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
            raise ValueError("Écrivez un nombre en chiffres.") from None
        if o["integer"] and number != number.to_integral_value():
            raise ValueError("Écrivez un nombre entier, sans virgule.")
        if o["min"] is not None and number < Decimal(str(o["min"])):
            raise ValueError(f"Le nombre doit être au moins {format_decimal(o['min'])}.")
        if o["max"] is not None and number > Decimal(str(o["max"])):
            raise ValueError(f"Le nombre doit être au plus {format_decimal(o['max'])}.")
        if o["step"] is not None and (number - Decimal(str(o["min"] or 0))) % Decimal(str(o["step"])):
            step = format_decimal(o["step"])
            start = f" à partir de {format_decimal(o['min'])}" if o["min"] else ""
            raise ValueError(f"Le nombre doit aller de {step} en {step}{start}.")
        return as_json_number(number)

    def display(self, value):
        if not self.is_answered(value):
            return []
        unit = self.options["unit"]
        return [format_decimal(value) + (f" {unit}" if unit else "")]

    def codebook_cell(self):
        return self.format_hint().rstrip(".")

    def tally(self, value):
        return [value]

    def distribution(self, counts):
        values = sorted(counts.elements())
        if not values:
            return []
        unit = f" {self.options['unit']}" if self.options["unit"] else ""
        return [("Nombre de réponses", format_decimal(len(values))),
                ("Minimum", format_decimal(values[0]) + unit),
                ("Médiane", format_decimal(statistics.median(values)) + unit),
                ("Maximum", format_decimal(values[-1]) + unit)]
