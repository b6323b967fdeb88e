"""Field classes of the questionnaire forms.

Rendering is done by the templates' macros (one per question kind), so these
fields only turn form data into Python values and check them.
"""
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import StopValidation

_STRIPPED_CONTROLS = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def clean_text(value: str) -> str:
    """Drop control characters (keep tab and line breaks) and outer spaces."""
    return value.translate(_STRIPPED_CONTROLS).replace("\r\n", "\n").strip()


class CleanStringField(StringField):
    def process_formdata(self, valuelist):
        self.data = clean_text(valuelist[0]) if valuelist else ""


class CleanTextAreaField(TextAreaField):
    def process_formdata(self, valuelist):
        self.data = clean_text(valuelist[0]) if valuelist else ""


class CodeChoiceField(Field):
    """One choice code among ``codes``; empty means unanswered."""

    def __init__(self, label=None, validators=None, codes=(), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.codes = tuple(codes)

    def process_formdata(self, valuelist):
        self.data = valuelist[0] or None if valuelist else None

    def pre_validate(self, form):
        if self.data is not None and self.data not in self.codes:
            self.data = None
            raise StopValidation("Ce choix n'existe pas : choisissez l'une des réponses proposées.")


class CodeMultiChoiceField(Field):
    """Several choice codes, kept in the definition's order."""

    def __init__(self, label=None, validators=None, codes=(), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.codes = tuple(codes)

    def process_data(self, value):
        self.data = list(value or [])

    def process_formdata(self, valuelist):
        self.data = list(dict.fromkeys(v for v in valuelist if v))

    def pre_validate(self, form):
        unknown = [v for v in self.data if v not in self.codes]
        if unknown:
            self.data = [v for v in self.data if v in self.codes]
            raise StopValidation("Un des choix n'existe pas : cochez parmi les réponses proposées.")
        self.data = [c for c in self.codes if c in self.data]
