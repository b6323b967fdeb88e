"""Free-text kinds: what was typed is kept, even when it fails a check."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..forms.fields import CleanStringField, CleanTextAreaField
from ..forms.validators import Email, InseeCommune, PostalCode, Siren, Siret, TextLength, compact_digits
from .base import InputOptions, Question


class TextOptions(InputOptions):
    max_length = fields.Int(strict=True, load_default=500, validate=validate.Range(min=1, max=100_000))


class LongTextOptions(Schema):
    min_length = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1))
    max_length = fields.Int(strict=True, load_default=20_000, validate=validate.Range(min=1, max=100_000))

    @validates_schema
    def _bounds(self, data, **kwargs):
        if data["min_length"] and data["min_length"] > data["max_length"]:
            raise ValidationError("min_length dépasse max_length", "min_length")


class TextQuestion(Question):
    name = "text"
    kind_label = "texte court"
    options_schema = TextOptions
    macro = "text"
    keeps_invalid = True
    field_class = CleanStringField
    input_type = "text"
    inputmode = None

    def input_attributes(self):
        attributes = {"type": self.input_type}
        if self.inputmode:
            attributes["inputmode"] = self.inputmode
        if self.autocomplete:
            attributes["autocomplete"] = self.autocomplete
        return attributes

    def validators(self):
        return [TextLength(max=self.options.get("max_length", 500))]

    def normalize(self, value: str) -> str:
        return value

    def build_fields(self):
        return {self.code: self.field_class(self.label, validators=self.validators(), filters=[self.normalize])}


class LongTextQuestion(TextQuestion):
    name = "long_text"
    kind_label = "texte long"
    export_width = 60
    options_schema = LongTextOptions
    macro = "long_text"
    field_class = CleanTextAreaField
    # A long free text tells the year's story: written anew each year.
    yearly_by_default = True
    is_free_text = True

    def validators(self):
        return [TextLength(min=self.options["min_length"], max=self.options["max_length"])]


class EmailQuestion(TextQuestion):
    name = "email"
    kind_label = "adresse électronique"
    export_width = 28
    options_schema = InputOptions
    input_type = "email"
    autocomplete = "email"

    def validators(self):
        return [TextLength(max=254), Email()]


class _IdentifierQuestion(TextQuestion):
    """Numbers that identify (SIRET, postal code...): typed with spaces or dots, stored as digits."""

    options_schema = InputOptions
    input_type = "text"
    max_length = 40

    def validators(self):
        return [TextLength(max=self.max_length), *self.checks()]

    def normalize(self, value):
        return compact_digits(value)


class SiretQuestion(_IdentifierQuestion):
    name = "siret"
    kind_label = "numéro Siret"
    export_width = 16
    inputmode = "numeric"

    def checks(self):
        return [Siret()]


class SirenQuestion(_IdentifierQuestion):
    name = "siren"
    kind_label = "numéro Siren"
    export_width = 12
    inputmode = "numeric"

    def checks(self):
        return [Siren()]


class PostalCodeQuestion(_IdentifierQuestion):
    name = "postal_code"
    kind_label = "code postal"
    export_width = 10
    inputmode = "numeric"
    autocomplete = "postal-code"

    def checks(self):
        return [PostalCode()]


class InseeCodeQuestion(_IdentifierQuestion):
    name = "insee_code"
    kind_label = "code commune Insee"
    export_width = 10

    def normalize(self, value):
        return compact_digits(value).upper()

    def checks(self):
        return [InseeCommune()]
