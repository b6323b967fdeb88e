"""Load and validate a JSON questionnaire definition into an immutable spec.

Everything is checked before any form is built: the common shape and each
kind's options (marshmallow), unique codes, and every reference. Errors name
their place in the JSON, e.g. ``pages[2].questions[4] (code=siret): ...``.
"""
import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from marshmallow import Schema, ValidationError, fields, validate

from .conditions import ALWAYS, Condition, both, compile_condition
from .errors import DefinitionError
from .forms.builder import RESERVED_NAMES, forget_form_classes
from .questions import KINDS, Question
from .questions.base import CODE, QuestionSchema
from .rules import RULES


class PageSchema(Schema):
    code = fields.Str(required=True, validate=[CODE, validate.Length(max=40)])
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    intro = fields.Str(load_default=None)
    # The whole page is asked only when this holds (survey.conditions; earlier pages only).
    show_if = fields.Dict(load_default=None)
    questions = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


class DefinitionSchema(Schema):
    code = fields.Str(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
    version = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    pages = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))
    rules = fields.List(fields.Raw(), load_default=list)


@dataclass(frozen=True, eq=False)
class Page:
    index: int
    code: str
    title: str
    intro: str | None
    questions: tuple[Question, ...]
    show_if: dict | None = None
    condition: Condition = ALWAYS

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def has_upload(self) -> bool:
        return any(q.is_upload for q in self.questions)


@dataclass(frozen=True, eq=False)
class Definition:
    code: str
    version: int
    title: str
    pages: tuple[Page, ...]
    rules: tuple
    digest: str

    @cached_property
    def questions(self) -> MappingProxyType:
        """Every question by code, in the order of the questionnaire."""
        return MappingProxyType({q.code: q for p in self.pages for q in p.questions})

    @cached_property
    def free_text_codes(self) -> tuple[str, ...]:
        """The codes of the free-text questions, in the order of the questionnaire."""
        return tuple(q.code for q in self.questions.values() if q.is_free_text)

    @cached_property
    def owner_of(self) -> MappingProxyType:
        """Each answer code (follow-ups included) -> the code of its question."""
        return MappingProxyType({code: q.code for q in self.questions.values() for code in q.owned_codes()})

    def page(self, number: int) -> Page | None:
        """The page numbered from 1, or None."""
        return self.pages[number - 1] if 1 <= number <= len(self.pages) else None

    def __repr__(self):
        return f"<Definition {self.code} v{self.version}>"


def _flatten(messages, prefix=""):
    """marshmallow's nested messages -> ["key.sub: message", ...]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == "_schema":
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list) and messages and not all(isinstance(m, str) for m in messages):
        return [line for m in messages for line in _flatten(m, prefix)]
    texts = messages if isinstance(messages, list) else [messages]
    return [f"{prefix}: {t}" if prefix else str(t) for t in texts]


def _load(schema, data, where, errors, unknown=None):
    if not isinstance(data, dict):
        errors.append(f"{where}: un objet JSON est attendu")
        return None
    try:
        return schema.load(data, unknown=unknown) if unknown else schema.load(data)
    except ValidationError as exc:
        errors.extend(f"{where}{'.' if where else ''}{line}" for line in _flatten(exc.messages))
        return None


def _build_question(raw, where, page_index, errors):
    if not isinstance(raw, dict):
        errors.append(f"{where}: un objet JSON est attendu")
        return None
    label = f"{where} (code={raw.get('code')})" if raw.get("code") else where
    common = _load(QuestionSchema(), raw, label, errors)
    if common is None:
        return None
    kind = KINDS.get(common["kind"])
    if kind is None:
        errors.append(f"{label}: type de question inconnu {common['kind']!r} (connus : {', '.join(sorted(KINDS))})")
        return None
    own = {k: v for k, v in raw.items() if k not in QuestionSchema().fields}
    options = _load(kind.options_schema(), own, label, errors)
    if options is None:
        return None
    question = kind(common, options, page_index)
    question.where = label
    return question


def _check_unique(items, what, where, errors):
    seen = set()
    for item in items:
        if item["code"] in seen:
            errors.append(f"{where}: {what} en double {item['code']!r}")
        seen.add(item["code"])


def _raw_codes(raw_questions) -> set[str]:
    """The codes of questions that could not be built, so that references to them are not reported twice."""
    if not isinstance(raw_questions, list):
        return set()
    return {raw.get("code") for raw in raw_questions if isinstance(raw, dict) and isinstance(raw.get("code"), str)}


def _check_references(pages, rules, raw_rules, errors, unbuilt=frozenset()) -> list[Page]:
    """Check codes and references; returns the pages with their conditions compiled.

    A reference to a question that could not be built (``unbuilt``, already
    reported) is not reported again.
    """
    seen_codes = {}
    earlier = {}
    compiled = []
    for page in pages:
        page_condition = ALWAYS
        if page.show_if is not None:
            # Before its own questions are known: a page cannot depend on itself.
            page_condition = compile_condition(page.show_if, f"pages[{page.index}].show_if", dict(earlier), errors,
                                               unbuilt)
        compiled.append(replace(page, condition=page_condition))
        for question in page.questions:
            where = question.where
            for code in question.owned_codes():
                if code in RESERVED_NAMES or "__" in code:
                    errors.append(f"{where}: le code {code!r} est réservé (ou contient __)")
                if code in seen_codes:
                    errors.append(f"{where}: code en double {code!r} (déjà utilisé par {seen_codes[code]})")
                seen_codes[code] = question.code
            for attr, what in (("choices", "choix"), ("rows", "ligne"), ("columns", "colonne")):
                if attr in question.options:
                    _check_unique(question.options[attr], what, where, errors)
            if question.show_if is not None:
                question.own_condition = compile_condition(question.show_if, f"{where}.show_if", earlier, errors,
                                                           unbuilt)
            question.condition = both(page_condition, question.own_condition)
            earlier[question.code] = question
    for index, rule in enumerate(rules):
        problems = []
        for code, kinds in rule.references().items():
            target = earlier.get(code)
            if target is None and code in unbuilt:
                problems.append("")  # already reported where the question is
            elif target is None:
                problems.append(f"la question {code!r} n'existe pas")
            elif target.name not in kinds:
                problems.append(f"la question {code!r} est de type {target.name}, attendu {' ou '.join(kinds)}")
        errors.extend(f"rules[{index}]: {problem}" for problem in problems or rule.bind(earlier) if problem)
    return compiled


def build_definition(data, source="<définition>") -> Definition:
    """Validate ``data`` (parsed JSON) and build the immutable definition.

    Raises :class:`DefinitionError` listing every problem found.
    """
    errors: list[str] = []
    head = _load(DefinitionSchema(), data, "", errors)
    if head is None:
        raise DefinitionError(source, errors)
    pages = []
    unbuilt = set()
    for page_index, raw_page in enumerate(head["pages"]):
        where = f"pages[{page_index}]"
        page = _load(PageSchema(), raw_page, where, errors)
        if page is None:
            unbuilt |= _raw_codes(raw_page.get("questions") if isinstance(raw_page, dict) else None)
            continue
        questions = []
        for q_index, raw_question in enumerate(page["questions"]):
            question = _build_question(raw_question, f"{where}.questions[{q_index}]", page_index, errors)
            if question is not None:
                questions.append(question)
            else:
                unbuilt |= _raw_codes([raw_question])
        pages.append(Page(page_index, page["code"], page["title"], page["intro"], tuple(questions), page["show_if"]))
    _check_unique([{"code": p.code} for p in pages], "code de page", "pages", errors)
    rules = []
    for index, raw_rule in enumerate(head["rules"]):
        kind = RULES.get(raw_rule.get("kind")) if isinstance(raw_rule, dict) else None
        if kind is None:
            errors.append(f"rules[{index}]: règle inconnue (connues : {', '.join(sorted(RULES))})")
            continue
        spec = _load(kind.schema(), raw_rule, f"rules[{index}]", errors)
        if spec is not None:
            rules.append(kind(spec))
    # References are checked even after other errors, so that one reading lists every problem.
    pages = _check_references(pages, rules, head["rules"], errors, unbuilt)
    if errors:
        raise DefinitionError(source, errors)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return Definition(head["code"], head["version"], head["title"], tuple(pages), tuple(rules), digest)


def read_definition_file(path) -> tuple[dict, Definition]:
    """Parse and validate a definition file; returns (raw JSON, definition)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(path), [f"lecture impossible : {exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise DefinitionError(str(path), [f"JSON invalide, ligne {exc.lineno} colonne {exc.colno} : {exc.msg}"]) from exc
    return data, build_definition(data, str(path))


_compiled: dict[str, Definition] = {}


def definition_for(content: dict) -> Definition:
    """The compiled definition for a campaign's stored JSON, built once per content."""
    key = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    definition = _compiled.get(key)
    if definition is None:
        definition = _compiled[key] = build_definition(content)
    return definition


def forget_compiled():
    """Drop the compiled definitions and their page forms (tests, which reuse codes with other contents)."""
    _compiled.clear()
    forget_form_classes()
