"""Kinds that pick among coded choices."""
from functools import cached_property

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..forms.fields import CleanStringField, CodeChoiceField, CodeMultiChoiceField
from ..forms.validators import ShownWhenChosen, TextLength
from ..timefmt import count_of
from .base import CODE, OPTION_CODE, NoOptions, Outcome, Question


class FollowupSchema(Schema):
    code = fields.Str(required=True, validate=[CODE, validate.Length(max=40)])
    label = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class ChoiceSchema(Schema):
    code = fields.Str(required=True, validate=[OPTION_CODE, validate.Length(max=40)])
    label = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    followup = fields.Nested(FollowupSchema, load_default=None)


class ChoiceOptions(Schema):
    choices = fields.List(fields.Nested(ChoiceSchema), required=True, validate=validate.Length(min=2))


class MultipleChoiceOptions(ChoiceOptions):
    min_choices = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1))
    max_choices = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1))

    @validates_schema
    def _counts(self, data, **kwargs):
        low, high = data["min_choices"], data["max_choices"]
        if low and high and low > high:
            raise ValidationError("min_choices dépasse max_choices", "min_choices")
        if (high or low or 0) > len(data["choices"]):
            raise ValidationError("plus de réponses demandées que de choix proposés", "max_choices" if high else "min_choices")


FOLLOWUP_MAX = 500


class SingleChoiceQuestion(Question):
    name = "single_choice"
    kind_label = "choix unique"
    options_schema = ChoiceOptions
    macro = "choices"
    field_class = CodeChoiceField
    chart = "bars"

    def filters(self):
        return [(self.code, self.label, [(c["code"], c["label"]) for c in self.choices], "")]

    @property
    def choices(self) -> list[dict]:
        return self.options["choices"]

    @cached_property
    def followups(self) -> list[tuple[dict, dict]]:
        """(choice, follow-up) pairs."""
        return [(c, c["followup"]) for c in self.choices if c.get("followup")]

    def owned_codes(self):
        return [self.code, *(f["code"] for _, f in self.followups)]

    def option_codes(self):
        return [c["code"] for c in self.choices]

    def label_of(self, code):
        return next((c["label"] for c in self.choices if c["code"] == code), code)

    def build_fields(self):
        built = {self.code: self.field_class(self.label, codes=self.option_codes())}
        for choice, followup in self.followups:
            built[followup["code"]] = CleanStringField(
                followup["label"],
                validators=[ShownWhenChosen(self.code, choice["code"]), TextLength(max=FOLLOWUP_MAX)],
            )
        return built

    def form_data(self, answers, invalid):
        data = {self.code: answers.get(self.code)}
        for _, followup in self.followups:
            code = followup["code"]
            data[code] = invalid[code]["value"] if code in invalid else answers.get(code)
        return data

    def picked(self, value) -> list[str]:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def read(self, form):
        outcome = super().read(form)
        for _, followup in self.followups:
            bound = form[followup["code"]]
            if bound.errors:
                outcome.extra[followup["code"]] = Outcome(raw=bound.data, errors=list(bound.errors))
            else:
                outcome.extra[followup["code"]] = Outcome(value=bound.data or None)
        return outcome

    def missing(self, answers):
        problems = super().missing(answers)
        picked = self.picked(answers.get(self.code))
        for choice, followup in self.followups:
            if choice["code"] in picked and not answers.get(followup["code"]):
                problems.append(f"Précisez : {followup['label']}")
        return problems

    def display(self, value):
        return [self.label_of(code) for code in self.picked(value)]

    def export_columns(self):
        columns = [(self.code, self.label)]
        return columns + [(f["code"], f"{self.label} – {f['label']}") for _, f in self.followups]

    def export_cells(self, answers, labels):
        value = answers.get(self.code)
        cells = [(self.label_of(value) if labels else value) if value else ""]
        return cells + [answers.get(f["code"]) or "" for _, f in self.followups]

    def display_followups(self, answers):
        return [(f["label"], answers[f["code"]]) for _, f in self.followups if answers.get(f["code"])]

    def codebook_cell(self):
        return " | ".join(f"{c['code']} = {c['label']}" for c in self.choices)

    def tally(self, value):
        return self.picked(value)

    def distribution(self, counts):
        return [(choice["label"], counts[choice["code"]]) for choice in self.choices]


class MultipleChoiceQuestion(SingleChoiceQuestion):
    name = "multiple_choice"
    kind_label = "choix multiple"
    export_width = 12
    options_schema = MultipleChoiceOptions
    field_class = CodeMultiChoiceField
    is_multiple = True

    def count_hint(self) -> str:
        """``Plusieurs réponses possibles``, or how many: ``Cochez de 1 à 3 réponses``."""
        low, high = self.options.get("min_choices"), self.options.get("max_choices")
        if low and high:
            return f"Cochez {count_of(low, 'réponse')}." if low == high else f"Cochez de {low} à {high} réponses."
        if low:
            return f"Cochez au moins {count_of(low, 'réponse')}."
        if high:
            return f"Cochez au plus {count_of(high, 'réponse')}."
        return "Plusieurs réponses possibles."

    def format_hint(self):
        return self.count_hint()

    def answer_error(self, value):
        """Too few or too many ticked: kept, like a broken rule, and to correct before transmission."""
        picked = self.picked(value)
        low, high = self.options.get("min_choices"), self.options.get("max_choices")
        if picked and ((low and len(picked) < low) or (high and len(picked) > high)):
            return f"{self.count_hint().removesuffix('.')} : vous en avez coché {len(picked)}."
        return None

    def read(self, form):
        outcome = super().read(form)
        if not outcome.errors:
            outcome.value = list(form[self.code].data) or None
        return outcome

    def codebook_cell(self):
        return "1 = coché | 0 = non coché"

    def export_columns(self):
        columns = [(f"{self.code}.{c['code']}", f"{self.label} – {c['label']}") for c in self.choices]
        return columns + [(f["code"], f"{self.label} – {f['label']}") for _, f in self.followups]

    def export_cells(self, answers, labels):
        picked = answers.get(self.code)
        yes, no = ("Oui", "Non") if labels else (1, 0)
        cells = [("" if picked is None else yes if c["code"] in picked else no) for c in self.choices]
        return cells + [answers.get(f["code"]) or "" for _, f in self.followups]


class YesNoQuestion(SingleChoiceQuestion):
    name = "yes_no"
    kind_label = "oui ou non"
    export_width = 10
    options_schema = NoOptions
    CHOICES = ({"code": "oui", "label": "Oui"}, {"code": "non", "label": "Non"})

    @property
    def choices(self):
        return list(self.CHOICES)
