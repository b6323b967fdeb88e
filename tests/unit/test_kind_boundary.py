"""Kind knowledge stays inside survey/engine/questions/: nothing else tests which kind a question is.

Code outside the kinds asks a question through its hooks (``codebook_cell``,
``tally``/``distribution``, ``input_attributes``, ``display_followups``,
``displays_as_list``...), so that a new kind is one class, one registry line
and one macro.
"""
import re
from pathlib import Path

import pytest

import survey
from survey.engine.questions import KINDS

PACKAGE = Path(survey.__file__).parent
# Kinds named by an ordinary word ("email": a sign-in field's name too) are caught by the
# ``question.name`` pattern below; the others wherever they are compared with something.
ORDINARY_WORDS = {"text", "email", "file", "number", "date"}
KIND_NAMES = "|".join(re.escape(name) for name in KINDS if name not in ORDINARY_WORDS)
# A kind's name compared with something, in Python or Jinja: == 'matrix', in ("yes_no", ...), 'siret' != ...
LITERAL = rf"""['"](?:{KIND_NAMES})['"]"""
KIND_TESTS = [
    re.compile(rf"""(?:==|!=|\bin)\s*[(\[]?\s*{LITERAL}"""),
    re.compile(rf"""{LITERAL}\s*(?:==|!=)"""),
    # question.name == ..., q.name in (...): a branch on the kind
    re.compile(r"""\bq(?:uestion)?\.name\s*(?:==|!=|in\b|not\s+in\b)"""),
    # duck-typing on a kind's attributes
    re.compile(r"""hasattr\(\s*(?:\w+\.)?q(?:uestion)?\b"""),
    re.compile(r"""\bq(?:uestion)?\.\w+\s+is\s+(?:not\s+)?defined"""),
]


def outside_files():
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".html", ".txt", ".js"):
            continue
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "migrations" or relative.parts[:2] == ("engine", "questions"):
            continue
        yield relative, path.read_text(encoding="utf-8")


def test_the_patterns_catch_what_they_are_meant_to():
    samples = ["if question.name == 'matrix':", "q.name in (\"single_choice\", \"yes_no\")",
               "{% if distribution.question.name == 'multiple_choice' %}", "hasattr(question, 'display_followups')",
               "{% if question.followups is defined %}", "kind in ('siret', 'siren')"]
    for sample in samples:
        assert any(p.search(sample) for p in KIND_TESTS), sample
    assert not any(p.search("question.codebook_cell()") for p in KIND_TESTS)


@pytest.mark.parametrize("relative,text", list(outside_files()), ids=lambda v: str(v) if isinstance(v, Path) else "")
def test_no_kind_test_outside_the_kinds(relative, text):
    found = [f"{relative}:{number}: {line.strip()}"
             for number, line in enumerate(text.splitlines(), 1)
             if any(pattern.search(line) for pattern in KIND_TESTS)]
    assert not found, "kind knowledge outside survey/engine/questions/ (add a hook to the kind instead):\n" + "\n".join(found)
