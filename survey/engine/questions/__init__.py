"""Question kinds: one class each, in an explicit, read-only registry."""
from types import MappingProxyType

from .base import Outcome, Question
from .choice import MultipleChoiceQuestion, SingleChoiceQuestion, YesNoQuestion
from .date import DateQuestion
from .file import FileQuestion
from .matrix import MatrixQuestion
from .number import NumberQuestion
from .text import (
    EmailQuestion,
    InseeCodeQuestion,
    LongTextQuestion,
    PostalCodeQuestion,
    SirenQuestion,
    SiretQuestion,
    TextQuestion,
)


def build_registry(classes) -> MappingProxyType:
    """Map each kind's name to its class; two kinds with one name is an error."""
    registry = {}
    for cls in classes:
        if cls.name in registry:
            raise ValueError(f"two question kinds are named {cls.name!r}")
        registry[cls.name] = cls
    return MappingProxyType(registry)


KINDS = build_registry([
    TextQuestion,
    LongTextQuestion,
    EmailQuestion,
    SiretQuestion,
    SirenQuestion,
    PostalCodeQuestion,
    InseeCodeQuestion,
    SingleChoiceQuestion,
    MultipleChoiceQuestion,
    YesNoQuestion,
    MatrixQuestion,
    FileQuestion,
    NumberQuestion,
    DateQuestion,
])

__all__ = ["KINDS", "Outcome", "Question", "build_registry"]
