"""Rules of a definition over stored answers, one class per kind of rule."""
from types import MappingProxyType

from marshmallow import Schema, fields

from .questions.base import CODE, OPTION_CODE


class SirenMatchesSiretSchema(Schema):
    kind = fields.Str(required=True)
    siret = fields.Str(required=True, validate=CODE)
    siren = fields.Str(required=True, validate=CODE)


class SirenMatchesSiret:
    """The SIREN is the first 9 digits of the SIRET; the error goes on the SIREN."""

    name = "siren_matches_siret"
    schema = SirenMatchesSiretSchema

    def __init__(self, spec):
        self.siret = spec["siret"]
        self.siren = spec["siren"]

    def references(self) -> dict[str, tuple[str, ...]]:
        """Referenced question codes, with the kinds each must have."""
        return {self.siret: ("siret",), self.siren: ("siren",)}

    def bind(self, _questions) -> list[str]:
        """Problems with the referenced questions beyond their kinds (none here)."""
        return []

    def check(self, answers: dict) -> dict[str, str]:
        siret, siren = answers.get(self.siret), answers.get(self.siren)
        if siret and siren and siret[:9] != siren:
            return {self.siren: "Le SIREN doit être égal aux 9 premiers chiffres du SIRET."}
        return {}


class ExclusiveChoiceSchema(Schema):
    kind = fields.Str(required=True)
    question = fields.Str(required=True, validate=CODE)
    choice = fields.Str(required=True, validate=OPTION_CODE)


class ExclusiveChoice:
    """A choice of a multiple-choice question ticked only alone ("Aucun de ces critères")."""

    name = "exclusive_choice"
    schema = ExclusiveChoiceSchema

    def __init__(self, spec):
        self.question = spec["question"]
        self.choice = spec["choice"]
        self.label = spec["choice"]

    def references(self) -> dict[str, tuple[str, ...]]:
        """Referenced question codes, with the kinds each must have."""
        return {self.question: ("multiple_choice",)}

    def bind(self, questions) -> list[str]:
        """Check that the question offers the choice, and take its label for the message."""
        target = questions[self.question]
        if self.choice not in target.option_codes():
            return [f"le choix {self.choice!r} n'existe pas dans la question {self.question!r}"]
        self.label = target.label_of(self.choice)
        return []

    def check(self, answers: dict) -> dict[str, str]:
        picked = answers.get(self.question) or []
        if self.choice in picked and len(picked) > 1:
            return {self.question: f"« {self.label} » ne peut pas être coché avec un autre choix."}
        return {}


RULES = MappingProxyType({cls.name: cls for cls in [SirenMatchesSiret, ExclusiveChoice]})
