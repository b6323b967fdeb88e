"""Read the CSV file of a campaign's funded projects: every row checked, each error naming its line and column.

Nothing here writes: :func:`survey.operations.importing.import_projects`
imports the rows this module accepts.
"""
import csv
import io
import re
from dataclasses import dataclass, field

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema
from stdnum.fr import siret as stdnum_siret

from .caf_settings import CafSettings, read_timezone, settings_problems
from .engine.forms.validators import Email, compact_digits
from .models.caf import timezone_for_number

COLUMNS = {
    "reference": ("reference", "référence", "ref"),
    "structure": ("structure", "nom_structure", "nom de la structure"),
    "siret": ("siret",),
    "caf": ("caf", "numero_caf", "numéro caf", "caf_numero"),
    "caf_nom": ("caf_nom", "nom_caf", "nom de la caf"),
    "commune": ("commune",),
    # Optional, used only when the row creates its Caf.
    "caf_fuseau": ("caf_fuseau", "fuseau", "caf_timezone"),
    "caf_email": ("caf_email", "caf_courriel"),
    "caf_telephone": ("caf_telephone", "caf_téléphone"),
    "caf_adresse": ("caf_adresse",),
    "caf_horaires": ("caf_horaires",),
    "emails": ("emails", "email", "contacts", "courriels"),
}
REQUIRED = ("reference", "structure", "siret", "caf", "emails")
EMAIL = Email().regex
# The optional Caf columns -> the Caf's settings they give.
CAF_COLUMNS = {"caf_email": "contact_email", "caf_telephone": "contact_phone", "caf_adresse": "contact_address",
               "caf_horaires": "contact_hours"}


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self):
        return f"ligne {self.line}, colonne {self.column} : {self.reason}"


@dataclass
class Row:
    line: int
    reference: str
    structure: str
    siret: str
    caf_number: str
    caf_name: str
    commune: str
    emails: list[str]
    caf_settings: dict = field(default_factory=dict)


class Siret(fields.Str):
    """A SIRET typed with or without spaces, stored as its 14 digits; checked with its key."""

    def _deserialize(self, value, attr, data, **kwargs):
        siret = compact_digits(super()._deserialize(value, attr, data, **kwargs))
        if not stdnum_siret.is_valid(siret):
            raise ValidationError(f"SIRET invalide « {value} »")
        return siret


class EmailList(fields.Str):
    """The contacts' addresses, separated by spaces, commas, semicolons or |: lower-cased, once each."""

    def _deserialize(self, value, attr, data, **kwargs):
        emails = [e.lower() for e in re.split(r"[\s,;|]+", super()._deserialize(value, attr, data, **kwargs)) if e]
        if not emails:
            raise ValidationError("au moins une adresse électronique est nécessaire")
        bad = [f"adresse électronique invalide « {email} »" for email in emails if not EMAIL.fullmatch(email)]
        if bad:
            raise ValidationError(bad)
        return list(dict.fromkeys(emails))


class ProjectRow(Schema):
    """One row of the file (the cells of the columns found, stripped); loads the fields of a :class:`Row`."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.Str(required=True, validate=validate.Regexp(
        r"[A-Za-z0-9][A-Za-z0-9_./-]{0,59}\Z",
        error="référence absente ou invalide (lettres, chiffres, - _ . /, 60 au plus)"))
    structure = fields.Str(required=True, validate=validate.Length(
        min=1, max=200, error="nom de structure absent ou trop long (200 au plus)"))
    siret = Siret(required=True)
    caf = fields.Str(required=True, validate=validate.Regexp(r"\d{2,4}[A-Z]?\Z",
                                                             error="numéro de Caf invalide « {input} »"))
    emails = EmailList(required=True)
    caf_nom = fields.Str(load_default="")
    commune = fields.Str(load_default="")
    caf_fuseau = fields.Str(load_default="")
    caf_email = fields.Str(load_default="")
    caf_telephone = fields.Str(load_default="")
    caf_adresse = fields.Str(load_default="")
    caf_horaires = fields.Str(load_default="")

    @validates_schema(skip_on_field_errors=False)
    def caf_settings_are_valid(self, data, **_kwargs):
        """The optional Caf columns, checked as the admin page checks them."""
        _settings, problems = self._caf_settings(data)
        if problems:
            raise ValidationError(problems)

    @staticmethod
    def _caf_settings(data) -> tuple[dict, dict[str, str]]:
        settings = {name: data.get(column, "") for column, name in CAF_COLUMNS.items()}
        zone = data.get("caf_fuseau", "")
        settings["timezone"] = read_timezone(zone) if zone else timezone_for_number(data.get("caf", ""))
        if settings["timezone"] is None:
            return {}, {"caf_fuseau": f"fuseau horaire inconnu « {zone} » (par exemple Indian/Reunion)"}
        problems = settings_problems(CafSettings(name=data.get("caf_nom") or "-", **settings))
        columns = {name: column for column, name in CAF_COLUMNS.items()}
        return settings, {columns.get(name, "caf_nom"): message for name, message in problems.items()}

    @post_load
    def row_fields(self, data, **_kwargs) -> dict:
        """The fields of a :class:`Row`, its line aside."""
        settings, _problems = self._caf_settings(data)
        return dict(reference=data["reference"], structure=data["structure"], siret=data["siret"],
                    caf_number=data["caf"], caf_name=data["caf_nom"], commune=data["commune"][:200],
                    emails=data["emails"], caf_settings=settings)


ROW = ProjectRow()


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 as older Excel writes it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_map(header):
    mapping = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        for column, aliases in COLUMNS.items():
            if key in aliases and column not in mapping:
                mapping[column] = index
    return mapping


def _row_errors(line: int, messages: dict) -> list[RowError]:
    """marshmallow's errors of a row, in the file's column order."""
    order = list(COLUMNS)
    found = []
    for column in sorted(messages, key=lambda c: order.index(c) if c in order else len(order)):
        reasons = messages[column]
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            found.append(RowError(line, column, reason))
    return found


def parse(text: str) -> tuple[list[Row], list[RowError]]:
    """Read and check every row; returns the good rows and every error."""
    first = text.split("\n", 1)[0]
    separator = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = next(reader, None)
    if not header:
        return [], [RowError(1, "-", "le fichier est vide")]
    mapping = _header_map(header)
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        return [], [RowError(1, c, "colonne absente de l'en-tête") for c in missing]
    rows, errors, seen = [], [], {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        value = {c: (cells[i].strip() if i < len(cells) else "") for c, i in mapping.items()}
        messages = {}
        try:
            row = Row(line=line, **ROW.load(value))
        except ValidationError as refused:
            messages, row = refused.messages, None
        reference = value["reference"]
        if "reference" not in messages:
            if reference in seen:
                messages["reference"] = [f"référence déjà présente ligne {seen[reference]}"]
            else:
                seen[reference] = line
        if messages:
            errors.extend(_row_errors(line, messages))
        else:
            rows.append(row)
    return rows, errors
