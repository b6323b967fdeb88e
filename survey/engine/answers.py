"""Rules over a response's stored answers: visibility, completeness, display."""
from dataclasses import dataclass

from .definition import Definition, Page
from .questions import Question


def is_visible(question: Question, answers: dict) -> bool:
    """A question shows only when its page's ``show_if`` and its own hold."""
    return question.condition.holds(answers)


def is_page_visible(page: Page, answers: dict) -> bool:
    """A page with ``show_if`` is asked only when its condition holds."""
    return page.condition.holds(answers)


def prune_hidden(definition: Definition, answers: dict, invalid: dict):
    """Drop, in place, every answer of a question that is now hidden."""
    for question in definition.questions.values():
        if not is_visible(question, answers):
            for code in question.owned_codes():
                answers.pop(code, None)
                invalid.pop(code, None)


def rule_errors(definition: Definition, answers: dict) -> dict[str, str]:
    """Rule violations (a question's own, then cross-question ones), keyed by the code that carries them."""
    errors = {}
    for question in definition.questions.values():
        if question.code in answers:
            message = question.answer_error(answers[question.code])
            if message:
                errors[question.code] = message
    for rule in definition.rules:
        errors.update(rule.check(answers))
    return errors


def stored_errors(definition: Definition, page: Page, answers: dict, invalid: dict) -> dict[str, list[str]]:
    """Errors to show on a page from what is stored: invalid values and rules."""
    codes = {code for q in page.questions for code in q.owned_codes()}
    errors = {code: list(entry["errors"]) for code, entry in invalid.items() if code in codes}
    for code, message in rule_errors(definition, answers).items():
        if code in codes:
            errors.setdefault(code, []).append(message)
    return errors


@dataclass(frozen=True)
class Problem:
    """Something that stops transmission, with where to fix it."""

    page: Page
    question: Question
    anchor: str
    message: str


def find_problems(definition: Definition, answers: dict, invalid: dict) -> list[Problem]:
    """Everything missing or invalid, in the order of the questionnaire."""
    broken_rules = rule_errors(definition, answers)
    problems = []
    for page in definition.pages:
        for question in page.questions:
            if not is_visible(question, answers):
                continue
            for code in question.owned_codes():
                if code in invalid:
                    problems.extend(Problem(page, question, code, f"À corriger : {m}") for m in invalid[code]["errors"])
                if code in broken_rules:
                    problems.append(Problem(page, question, code, f"À corriger : {broken_rules[code]}"))
            if not any(code in invalid for code in question.owned_codes()):
                problems.extend(Problem(page, question, question.code, m) for m in question.missing(answers))
    return problems


def prefilled_answers(definition: Definition, context: dict) -> dict:
    """Answers taken from the imported project (structure, SIRET, Caf...)."""
    answers = {}
    for question in definition.questions.values():
        value = context.get(question.prefill) if question.prefill else None
        if value:
            answers[question.code] = value
    return answers


@dataclass(frozen=True)
class Step:
    """A page of the questionnaire and, in words, where the partner stands on it."""

    page: Page
    status: str  # "complète", "à compléter", "à corriger", "correction demandée", "modifiée par la Caf", "sans objet"

    @property
    def needs_work(self) -> bool:
        return self.status in ("à compléter", "à corriger", "correction demandée")


def steps(definition: Definition, answers: dict, invalid: dict, asked_codes=(), changed_codes=()) -> list[Step]:
    """Each page's status in words (never by colour alone): what the step list and "Reprendre" read.

    ``asked_codes`` are the questions of an open correction request,
    ``changed_codes`` those the Caf changed.
    """
    problems = find_problems(definition, answers, invalid)
    fixing = {p.page.number for p in problems if p.message.startswith("À corriger")}
    missing = {p.page.number for p in problems}
    result = []
    for page in definition.pages:
        codes = {q.code for q in page.questions}
        if not is_page_visible(page, answers):
            status = "sans objet"
        elif codes & set(asked_codes):
            status = "correction demandée"
        elif page.number in fixing:
            status = "à corriger"
        elif page.number in missing:
            status = "à compléter"
        elif codes & set(changed_codes):
            status = "modifiée par la Caf"
        else:
            status = "complète"
        result.append(Step(page, status))
    return result


def next_page(definition: Definition, answers: dict, number: int, direction: int) -> int | None:
    """The number of the next (``direction`` 1) or previous (-1) page asked, skipping pages that do not apply."""
    number += direction
    while definition.page(number) is not None:
        if is_page_visible(definition.page(number), answers):
            return number
        number += direction
    return None


def resume_page(step_list: list[Step]) -> int | None:
    """The first page that still needs something (None when every page is done)."""
    return next((step.page.number for step in step_list if step.needs_work), None)
