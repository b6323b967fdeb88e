"""docs/definitions.md cannot drift from the code: every kind, option, condition, rule and prefill
source is described, nothing described is unknown, and every JSON example loads."""
import json
import re
from pathlib import Path

import pytest

from survey.engine.conditions import CHOICE_TESTS, COMBINATIONS, NUMBER_TESTS
from survey.engine.definition import DefinitionSchema, PageSchema, build_definition
from survey.engine.questions import KINDS
from survey.engine.questions.base import PREFILL_SOURCES, QuestionSchema
from survey.engine.rules import RULES

from .factories import definition

GUIDE = (Path(__file__).parents[2] / "docs" / "definitions.md").read_text(encoding="utf-8")


def section(title_pattern: str) -> str:
    """The text under the first heading matching ``title_pattern``, up to the next heading of its level or above."""
    match = re.search(rf"^(#+) {title_pattern}.*?$", GUIDE, re.M)
    assert match, f"no heading {title_pattern!r} in the guide"
    level = len(match.group(1))
    rest = GUIDE[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[:end.start()] if end else rest


def table_keys(text: str) -> set[str]:
    """The backquoted names in the first column of the tables of ``text``."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))


def kind_section(name: str) -> str:
    heading = next(h for h in re.findall(r"^### (.+)$", GUIDE, re.M) if f"`{name}`" in h)
    return section(re.escape(heading))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_is_described_with_exactly_its_options(name):
    described = table_keys(kind_section(name))
    assert described == set(KINDS[name].options_schema().fields), name


def test_the_common_keys_of_a_question_a_page_and_a_definition_are_exactly_the_codes():
    assert table_keys(section("Keys of every question")) == set(QuestionSchema().fields)
    described = table_keys(section("The definition"))
    assert described == set(DefinitionSchema().fields) | set(PageSchema().fields)


def test_conditions_rules_and_prefill_sources_are_exactly_the_codes():
    assert table_keys(section("Conditions")) == {*CHOICE_TESTS, *NUMBER_TESTS, *COMBINATIONS}
    assert table_keys(section("Prefill")) == set(PREFILL_SOURCES)
    rules = section("Rules")
    assert table_keys(rules) == set(RULES)
    for name, rule in RULES.items():
        row = re.search(rf"^\| `{name}` \| (.*?) \|", rules, re.M).group(1)
        assert set(re.findall(r"`([a-z_]+)`", row)) == set(rule.schema().fields) - {"kind"}, name


def examples():
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", GUIDE, re.S)]


def test_the_guide_shows_every_kind_in_an_example():
    shown = set()
    for example in examples():
        for question in (example if isinstance(example, list) else [example]):
            if "kind" in question:
                shown.add(question["kind"])
            for page in question.get("pages", []):
                shown.update(q["kind"] for q in page["questions"])
    assert shown == set(KINDS)


@pytest.mark.parametrize("example", examples(), ids=lambda e: (e.get("code") if isinstance(e, dict) else e[0]["code"]))
def test_every_example_loads(example):
    if isinstance(example, dict) and "pages" in example:
        build_definition(example)
    else:
        build_definition(definition(*(example if isinstance(example, list) else [example])))
