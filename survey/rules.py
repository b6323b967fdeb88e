"""Cross-question rules of a definition, one class per kind of rule."""
from types import MappingProxyType

from marshmallow import Schema, fields

from .questions.base import CODE


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

    def check(self, answers: dict) -> dict[str, str]:
        siret, siren = answers.get(self.siret), answers.get(self.siren)
        if siret and siren and siret[:9] != siren:
            return {self.siren: "Le SIREN doit être égal aux 9 premiers chiffres du SIRET."}
        return {}


RULES = MappingProxyType({cls.name: cls for cls in [SirenMatchesSiret]})
