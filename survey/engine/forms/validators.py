"""Validators in the WTForms style: small classes, a French ``message``."""
import re

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from wtforms.validators import StopValidation, ValidationError

from ..timefmt import count_of, format_number


def compact_digits(value: str) -> str:
    """Remove the spaces, dots and dashes people put in long numbers."""
    return re.sub(r"[\s.\-]", "", value or "")


class Siret:
    def __init__(self, message=None):
        self.message = message or "Le numéro de SIRET doit compter 14 chiffres et être valide (vérifiez-le sur votre avis de situation Insee)."

    def __call__(self, form, field):
        if field.data and not stdnum_siret.is_valid(field.data):
            raise ValidationError(self.message)


class Siren:
    def __init__(self, message=None):
        self.message = message or "Le numéro de SIREN doit compter 9 chiffres et être valide."

    def __call__(self, form, field):
        if field.data and not stdnum_siren.is_valid(field.data):
            raise ValidationError(self.message)


class Pattern:
    """The whole value must match ``regex``."""

    def __init__(self, regex, message):
        self.regex = re.compile(regex)
        self.message = message

    def __call__(self, form, field):
        if field.data and not self.regex.fullmatch(field.data):
            raise ValidationError(self.message)


class PostalCode(Pattern):
    def __init__(self, message=None):
        super().__init__(r"\d{5}", message or "Le code postal doit compter 5 chiffres, par exemple 73000.")


class InseeCommune:
    """A commune's INSEE code: 5 characters, 2A/2B for Corsica (never 20)."""

    regex = re.compile(r"(?:\d{2}|2[AB])\d{3}")

    def __init__(self, message=None):
        self.message = message or "Le code Insee de la commune compte 5 caractères (2A ou 2B pour la Corse), par exemple 73065."

    def __call__(self, form, field):
        if field.data and (not self.regex.fullmatch(field.data) or field.data.startswith("20")):
            raise ValidationError(self.message)


class Email(Pattern):
    def __init__(self, message=None):
        super().__init__(
            r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
            message or "L’adresse électronique n’est pas valide, par exemple : nom@structure.fr.",
        )


class TextLength:
    """Length bounds on a text, counted in characters, with French messages."""

    # No maxlength/minlength flags: a browser would cut a pasted text without
    # a word. The server refuses it instead, with the whole text shown back.
    def __init__(self, min=None, max=None):
        self.min = min
        self.max = max

    def __call__(self, form, field):
        size = len(field.data or "")
        if not size:
            return
        if self.min is not None and size < self.min:
            raise ValidationError(f"Écrivez au moins {count_of(self.min, 'caractère')} "
                                  f"(le texte en compte {format_number(size)}).")
        if self.max is not None and size > self.max:
            raise ValidationError(f"Le texte compte {count_of(size, 'caractère')}, pour {format_number(self.max)} au plus : "
                                  f"raccourcissez-le de {count_of(size - self.max, 'caractère')}. Il est conservé tel "
                                  "que vous l’avez saisi.")


class ShownWhenChosen:
    """Keep a follow-up only when its choice is picked, as Indico's HiddenUnless.

    When the choice is not picked the follow-up is cleared and not validated:
    a hidden answer is never stored.
    """

    def __init__(self, choice_field, choice_code):
        self.choice_field = choice_field
        self.choice_code = choice_code

    def __call__(self, form, field):
        picked = form[self.choice_field].data
        picked = picked if isinstance(picked, list) else [picked]
        if self.choice_code not in picked:
            field.data = ""
            field.errors[:] = []
            raise StopValidation()
