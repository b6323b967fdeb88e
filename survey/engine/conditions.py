"""Conditions of ``show_if``: when a question, or a whole page, is asked.

A condition is a JSON object, either a test of one earlier question::

    {"question": "statut", "any_of": ["autre"]}        ticked or picked one of these choices
    {"question": "ages", "all_of": ["primaire", "college"]}
    {"question": "ages", "none_of": ["lycee"]}         (also true while unanswered)
    {"question": "enfants", "gte": 10}                 gt, gte, lt, lte, eq on a number

or a combination: ``{"all": [condition, ...]}``, ``{"any": [condition, ...]}``.
A condition may test only questions placed before what it shows (earlier on the
same page, or on an earlier page; a page's own condition, only earlier pages), so
that there is never a cycle, and a page read in order always knows the answer.
"""
from dataclasses import dataclass

CHOICE_TESTS = {"any_of": "l’une des réponses", "all_of": "toutes les réponses", "none_of": "aucune des réponses"}
NUMBER_TESTS = {"gt": "supérieure à", "gte": "supérieure ou égale à", "lt": "inférieure à",
                "lte": "inférieure ou égale à", "eq": "égale à"}
COMBINATIONS = ("all", "any")


class Condition:
    """A compiled condition: ``holds`` over stored answers, the codes it reads, its French wording."""

    def holds(self, answers: dict) -> bool:
        raise NotImplementedError

    def codes(self) -> set[str]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def for_browser(self, page_codes: set[str], answers: dict):
        """The condition for app.js: tests of questions on other pages are replaced by their known result."""
        raise NotImplementedError


class Always(Condition):
    def holds(self, answers):
        return True

    def codes(self):
        return set()

    def describe(self):
        return ""

    def for_browser(self, page_codes, answers):
        return {"const": True}


ALWAYS = Always()


@dataclass(frozen=True)
class ChoiceTest(Condition):
    question: object
    test: str
    choices: tuple[str, ...]

    def holds(self, answers):
        value = answers.get(self.question.code)
        picked = set(value if isinstance(value, list) else [] if value is None else [value])
        if self.test == "any_of":
            return bool(picked & set(self.choices))
        if self.test == "all_of":
            return set(self.choices) <= picked
        return not picked & set(self.choices)

    def codes(self):
        return {self.question.code}

    def describe(self):
        quoted = [f"« {self.question.label_of(c)} »" for c in self.choices]
        where = f"à la question « {self.question.label} »"
        if self.test == "any_of":
            return f"vous avez répondu {' ou '.join(quoted)} {where}"
        if self.test == "all_of":
            return f"vous avez coché {' et '.join(quoted)} {where}"
        if len(quoted) == 1:
            return f"vous n’avez pas répondu {quoted[0]} {where}"
        return f"vous n’avez coché ni {' ni '.join(quoted)} {where}"

    def for_browser(self, page_codes, answers):
        if self.question.code not in page_codes:
            return {"const": self.holds(answers)}
        return {"question": self.question.code, self.test: list(self.choices)}


@dataclass(frozen=True)
class NumberTest(Condition):
    question: object
    test: str
    number: float

    def holds(self, answers):
        value = answers.get(self.question.code)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return {"gt": value > self.number, "gte": value >= self.number, "lt": value < self.number,
                "lte": value <= self.number, "eq": value == self.number}[self.test]

    def codes(self):
        return {self.question.code}

    def describe(self):
        from .timefmt import format_decimal
        return f"votre réponse à la question « {self.question.label} » est {NUMBER_TESTS[self.test]} {format_decimal(self.number)}"

    def for_browser(self, page_codes, answers):
        if self.question.code not in page_codes:
            return {"const": self.holds(answers)}
        return {"question": self.question.code, self.test: self.number}


@dataclass(frozen=True)
class Combination(Condition):
    every: bool
    parts: tuple[Condition, ...]

    def holds(self, answers):
        results = (part.holds(answers) for part in self.parts)
        return all(results) if self.every else any(results)

    def codes(self):
        return set().union(*(part.codes() for part in self.parts))

    def describe(self):
        joined = (" et " if self.every else " ou ").join(part.describe() for part in self.parts if part.describe())
        return f"({joined})" if len(self.parts) > 1 and not self.every else joined

    def for_browser(self, page_codes, answers):
        """Parts already decided are folded in: ``all`` with a false part is false, ``any`` with a true one true."""
        parts = [part.for_browser(page_codes, answers) for part in self.parts]
        decided = {part["const"] for part in parts if "const" in part}
        if (not self.every) in decided:
            return {"const": not self.every}
        open_parts = [part for part in parts if "const" not in part]
        if not open_parts:
            return {"const": self.every}
        return {"all" if self.every else "any": open_parts}


def both(first: Condition, second: Condition) -> Condition:
    """The condition of a question on a conditional page: the page's and its own."""
    if first is ALWAYS:
        return second
    if second is ALWAYS:
        return first
    return Combination(True, (first, second))


def compile_condition(raw, where: str, earlier: dict, errors: list[str], unbuilt=frozenset()) -> Condition:
    """Check ``raw`` against the questions placed before (``earlier``: code -> question) and compile it.

    Every problem is appended to ``errors`` with its JSON path; the result is then meaningless.
    A test of a question that could not be built (``unbuilt``) is left to that question's own errors.
    """
    if not isinstance(raw, dict):
        errors.append(f"{where}: un objet JSON est attendu")
        return ALWAYS
    combination = [key for key in COMBINATIONS if key in raw]
    if combination:
        key = combination[0]
        if set(raw) != {key}:
            errors.append(f"{where}: « {key} » s’écrit seul dans son objet (clés en trop : {sorted(set(raw) - {key})})")
        parts = raw[key]
        if not isinstance(parts, list) or not parts:
            errors.append(f"{where}.{key}: une liste d’au moins une condition est attendue")
            return ALWAYS
        return Combination(key == "all", tuple(compile_condition(part, f"{where}.{key}[{index}]", earlier, errors, unbuilt)
                                               for index, part in enumerate(parts)))
    code = raw.get("question")
    tests = [key for key in (*CHOICE_TESTS, *NUMBER_TESTS) if key in raw]
    extra = set(raw) - {"question", *CHOICE_TESTS, *NUMBER_TESTS}
    if not isinstance(code, str):
        errors.append(f"{where}.question: le code de la question testée est attendu")
        return ALWAYS
    if len(tests) != 1 or extra:
        known = ", ".join([*CHOICE_TESTS, *NUMBER_TESTS, *COMBINATIONS])
        errors.append(f"{where}: un seul test est attendu parmi {known}"
                      + (f" (clés inconnues : {sorted(extra)})" if extra else ""))
        return ALWAYS
    target = earlier.get(code)
    if target is None and code in unbuilt:
        return ALWAYS  # that question's own errors are already listed
    if target is None:
        errors.append(f"{where}.question: show_if désigne {code!r}, qui n’est pas une question placée avant "
                      "(seules les questions précédentes peuvent être testées : pas de référence en avant ni de cycle)")
        return ALWAYS
    test = tests[0]
    operand = raw[test]
    if test in CHOICE_TESTS:
        if target.option_codes() is None:
            errors.append(f"{where}.{test}: {code!r} n’a pas de choix à tester")
            return ALWAYS
        if not isinstance(operand, list) or not operand or not all(isinstance(c, str) for c in operand):
            errors.append(f"{where}.{test}: une liste de codes de choix est attendue")
            return ALWAYS
        unknown = sorted(set(operand) - set(target.option_codes()))
        if unknown:
            errors.append(f"{where}.{test}: choix inconnus de {code!r} : {unknown}")
        return ChoiceTest(target, test, tuple(operand))
    if not target.compares_numbers:
        errors.append(f"{where}.{test}: {code!r} n’est pas une question à réponse numérique")
        return ALWAYS
    if isinstance(operand, bool) or not isinstance(operand, (int, float)):
        errors.append(f"{where}.{test}: un nombre est attendu")
        return ALWAYS
    return NumberTest(target, test, operand)
