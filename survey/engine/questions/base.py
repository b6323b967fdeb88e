"""What every question kind shares."""
from dataclasses import dataclass, field
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, fields, validate

from ..conditions import ALWAYS

CODE = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="code invalide : lettres minuscules, chiffres et _ (commence par une lettre)")
OPTION_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_]*$", error="code invalide : lettres minuscules, chiffres et _")
# From the imported project, stored at enrolment; ``contact_email`` (the address the
# personal link was sent to) is only offered in the form while the answer is empty.
PREFILL_SOURCES = ("structure_name", "siret", "siren", "caf_name", "caf_number", "commune", "contact_email")


# The input purposes of WCAG 2.1 (success criterion 1.3.5, RGAA 11.13) a partner's own
# details may carry, as HTML ``autocomplete`` tokens: the browser offers to fill them.
INPUT_PURPOSES = (
    "name", "honorific-prefix", "given-name", "additional-name", "family-name", "honorific-suffix", "nickname",
    "organization-title", "organization", "street-address", "address-line1", "address-line2", "address-line3",
    "address-level4", "address-level3", "address-level2", "address-level1", "country", "country-name",
    "postal-code", "bday", "bday-day", "bday-month", "bday-year", "sex", "url", "photo",
    "tel", "tel-country-code", "tel-national", "tel-area-code", "tel-local", "tel-extension", "email", "off",
)


class InputOptions(Schema):
    """Options of every kind typed in one input: what the input is for (``autocomplete``)."""

    autocomplete = fields.Str(load_default=None, validate=validate.OneOf(
        INPUT_PURPOSES, error="autocomplete inconnu {input!r} : voir la liste des finalités du RGAA (critère 11.13)"))


class QuestionSchema(Schema):
    """The keys every question has; a kind's own keys go to its options schema."""

    class Meta:
        unknown = EXCLUDE

    code = fields.Str(required=True, validate=[CODE, validate.Length(max=40)])
    kind = fields.Str(required=True)
    label = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    required = fields.Bool(load_default=False)
    help = fields.Str(load_default=None, validate=validate.Length(max=1000))
    # An instruction shown prominently before the field, not as a small hint.
    lead = fields.Str(load_default=None, validate=validate.Length(max=500))
    prefill = fields.Str(load_default=None, validate=validate.OneOf(PREFILL_SOURCES))
    # Checked and compiled by survey.conditions once every question is known.
    show_if = fields.Dict(load_default=None)
    # About this year only (a bilan, a free account of the year): never carried over.
    yearly = fields.Bool(load_default=None)


class NoOptions(Schema):
    pass


@dataclass
class Outcome:
    """What one question read from a posted page.

    ``value`` is what gets stored (None when unanswered or invalid); ``raw``
    is what was typed, kept with ``errors`` when the value is invalid.
    ``extra`` maps further codes (follow-ups) to their values.
    """

    value: Any = None
    raw: Any = None
    errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Question:
    """One question of a definition; subclasses are the kinds.

    A kind declares ``name``, ``options_schema`` and ``macro`` (the template
    macro that renders it), and overrides the hooks below that differ.
    """

    name: ClassVar[str]
    # What the codebook calls the kind, in French ("choix unique").
    kind_label: ClassVar[str]
    # A sensible width of its export columns, in Excel's character units.
    export_width: ClassVar[int] = 20
    options_schema: ClassVar[type[Schema]] = NoOptions
    macro: ClassVar[str]
    # Free-text kinds keep what was typed even when it is invalid.
    keeps_invalid: ClassVar[bool] = False
    is_upload: ClassVar[bool] = False
    # Whether a kind's answers are about the year alone unless the definition says otherwise.
    yearly_by_default: ClassVar[bool] = False
    # Several answers at once (checkboxes): the dashboard's percentages do not add up to 100.
    is_multiple: ClassVar[bool] = False
    # The macro of review/_charts.html that draws the kind on the dashboard; None: not charted.
    chart: ClassVar[str | None] = None
    # Shown as a list even when it has one line (a grid's rows).
    displays_as_list: ClassVar[bool] = False
    # Whether ``show_if`` may compare its answer with a number (gt, gte, lt, lte, eq).
    compares_numbers: ClassVar[bool] = False
    # The input's purpose unless the definition declares one (``InputOptions``).
    autocomplete: ClassVar[str | None] = None
    # A free text of some length, what the Caf reads and searches (the reading view).
    is_free_text: ClassVar[bool] = False

    def __init__(self, common: dict, options: dict, page_index: int):
        self.code = common["code"]
        self.label = common["label"]
        self.required = common["required"]
        self.help = common["help"]
        self.lead = common.get("lead")
        self.prefill = common["prefill"]
        self.show_if = common["show_if"]
        self.yearly = self.yearly_by_default if common.get("yearly") is None else common["yearly"]
        self.options = options
        self.page_index = page_index
        # Compiled by the definition loader: its own show_if, and with its page's (what visibility reads).
        self.own_condition = self.condition = ALWAYS
        if options.get("autocomplete"):
            self.autocomplete = options["autocomplete"]

    # -- definition ------------------------------------------------------
    def owned_codes(self) -> list[str]:
        """Every answer code this question stores (itself and follow-ups)."""
        return [self.code]

    def option_codes(self) -> list[str] | None:
        """Choice codes another question's ``show_if`` may test, if any."""
        return None

    @property
    def carries_over(self) -> bool:
        """Whether last year's answer may start this year's: not a document, not a text about the year."""
        return not (self.is_upload or self.yearly)

    def same_as(self, other: "Question") -> bool:
        """Asked identically (kind, wording, options, condition): its answer can carry over."""
        return (self.name, self.code, self.label, self.options, self.show_if) == (
            other.name, other.code, other.label, other.options, other.show_if)

    # -- forms -----------------------------------------------------------
    def input_attributes(self) -> dict[str, str]:
        """HTML attributes of the kind's input beyond id, name and value (type, inputmode, autocomplete)."""
        return {}

    def format_hint(self) -> str | None:
        """What the answer must look like, in French, when the kind constrains it (``jj/mm/aaaa``)."""
        return None

    def build_fields(self) -> dict:
        """Unbound WTForms fields, keyed by field name."""
        raise NotImplementedError

    def form_data(self, answers: dict, invalid: dict) -> dict:
        """Initial form data from what is stored (invalid raw values win)."""
        if self.code in invalid:
            return {self.code: invalid[self.code]["value"]}
        return {self.code: answers.get(self.code)}

    def read(self, form) -> Outcome:
        """Turn a validated form's data into an :class:`Outcome`."""
        bound = form[self.code]
        if bound.errors:
            raw = bound.data if self.keeps_invalid else None
            return Outcome(raw=raw, errors=list(bound.errors))
        return Outcome(value=bound.data or None)

    # -- answers ---------------------------------------------------------
    def is_answered(self, value) -> bool:
        return value not in (None, "", [], {})

    def missing(self, answers: dict) -> list[str]:
        """French messages for what a complete answer still lacks."""
        if self.required and not self.is_answered(answers.get(self.code)):
            return ["Réponse obligatoire"]
        return []

    def answer_error(self, value) -> str | None:
        """A problem with a stored answer that is kept all the same, as a broken rule is (None: none)."""
        return None

    def display(self, value) -> list[str]:
        """Lines that show a stored value to people (summary, receipt)."""
        return [str(value)] if self.is_answered(value) else []

    def display_followups(self, answers: dict) -> list[tuple[str, str]]:
        """(label, text) of each follow-up answered beside the main answer ("Autre : précisez")."""
        return []

    # -- exports ---------------------------------------------------------
    def codebook_cell(self) -> str:
        """The codebook's "codes et libellés des réponses" cell: what a coded answer means."""
        return ""

    def export_columns(self) -> list[tuple[str, str]]:
        """(column code, French wording) of each export column, stable across years."""
        return [(self.code, self.label)]

    def export_cells(self, answers: dict, labels: bool) -> list:
        """One cell per export column; empty string when unanswered."""
        value = answers.get(self.code)
        return [value if self.is_answered(value) else ""]

    # -- dashboard -------------------------------------------------------
    def filters(self) -> list[tuple[str, str, list[tuple[str, str]], str]]:
        """What a reader may filter the bilans on: (answer key, label, [(choice code, label)], group label)."""
        return []

    def changed_parts(self, old, new) -> tuple:
        """Of two stored values, the parts that differ (a grid: only its changed rows); whole values otherwise."""
        return old, new

    # A grid's answer is an object of cells and tally() gives its (row, column) items: the database may then
    # count cells rather than whole answers (survey/reports/dashboard.py).
    tallies_cells = False

    def tally(self, value) -> list:
        """The keys one transmitted answer adds to the dashboard's counts (``chart`` kinds only)."""
        return []

    def distribution(self, counts) -> list:
        """What ``chart`` draws, from the counts of every key :meth:`tally` gave."""
        return []

    def __repr__(self):
        return f"<{type(self).__name__} {self.code}>"


class ParsedQuestion(Question):
    """A typed field its kind parses: ``parse(text)`` returns the stored value or raises ValueError in French."""

    def read(self, form):
        text = form[self.code].data
        if not text:
            return Outcome()
        try:
            return Outcome(value=self.parse(text))
        except ValueError as problem:
            return Outcome(raw=text, errors=[str(problem)])
