"""A grid: rows share one scale of columns, one answer per row."""
from marshmallow import Schema, fields, validate

from ..forms.fields import CodeChoiceField
from .base import OPTION_CODE, Outcome, Question


class CellSchema(Schema):
    code = fields.Str(required=True, validate=[OPTION_CODE, validate.Length(max=40)])
    label = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class MatrixOptions(Schema):
    rows = fields.List(fields.Nested(CellSchema), required=True, validate=validate.Length(min=1))
    columns = fields.List(fields.Nested(CellSchema), required=True, validate=validate.Length(min=2))


class MatrixQuestion(Question):
    name = "matrix"
    kind_label = "grille"
    export_width = 24
    options_schema = MatrixOptions
    macro = "matrix"
    chart = "stacked"
    displays_as_list = True
    tallies_cells = True

    @property
    def rows(self):
        return self.options["rows"]

    def filters(self):
        columns = [(c["code"], c["label"]) for c in self.columns]
        return [(f"{self.code}.{row['code']}", row["label"], columns, self.label) for row in self.rows]

    def changed_parts(self, old, new):
        if not (isinstance(old, dict) and isinstance(new, dict)):
            return old, new
        keep = {row["code"] for row in self.rows if old.get(row["code"]) != new.get(row["code"])}
        return ({k: v for k, v in old.items() if k in keep} or None, {k: v for k, v in new.items() if k in keep} or None)

    @property
    def columns(self):
        return self.options["columns"]

    def field_name(self, row_code):
        return f"{self.code}__{row_code}"

    def option_codes(self):
        return None

    def build_fields(self):
        codes = [c["code"] for c in self.columns]
        return {self.field_name(r["code"]): CodeChoiceField(r["label"], codes=codes) for r in self.rows}

    def form_data(self, answers, invalid):
        stored = answers.get(self.code) or {}
        return {self.field_name(r["code"]): stored.get(r["code"]) for r in self.rows}

    def read(self, form):
        value, errors = {}, []
        for row in self.rows:
            bound = form[self.field_name(row["code"])]
            if bound.errors:
                errors.extend(f"{row['label']} : {e}" for e in bound.errors)
            elif bound.data:
                value[row["code"]] = bound.data
        return Outcome(value=value or None, errors=errors)

    def missing(self, answers):
        if not self.required:
            return []
        stored = answers.get(self.code) or {}
        absent = [r["label"] for r in self.rows if r["code"] not in stored]
        if len(absent) == len(self.rows):
            return ["Réponse obligatoire"]
        return [f"Ligne sans réponse : {label}" for label in absent]

    def codebook_cell(self):
        return " | ".join(f"{c['code']} = {c['label']}" for c in self.columns)

    def tally(self, value):
        return list(value.items())

    def distribution(self, counts):
        """Per row: (row label, [(column label, count)])."""
        return [(row["label"], [(col["label"], counts[(row["code"], col["code"])]) for col in self.columns])
                for row in self.rows]

    def export_columns(self):
        return [(self.field_name(r["code"]).replace("__", "."), f"{self.label} – {r['label']}") for r in self.rows]

    def export_cells(self, answers, labels):
        value = answers.get(self.code) or {}
        names = {c["code"]: c["label"] for c in self.columns}
        return [(names.get(value[r["code"]], value[r["code"]]) if labels else value[r["code"]]) if r["code"] in value else ""
                for r in self.rows]

    def display(self, value):
        value = value or {}
        labels = {c["code"]: c["label"] for c in self.columns}
        return [f"{r['label']} : {labels.get(value[r['code']], value[r['code']])}" for r in self.rows if r["code"] in value]
