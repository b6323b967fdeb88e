"""Richer show_if: choice tests, number comparisons, combinations, earlier pages, whole pages."""
import pytest

from survey.engine.answers import find_problems, is_page_visible, is_visible, next_page, prune_hidden, steps
from survey.engine.definition import build_definition
from survey.engine.errors import DefinitionError

from .factories import definition, pages

THEMES = {"code": "themes", "kind": "multiple_choice", "label": "Thèmes", "choices": [
    {"code": "lecture", "label": "Lecture"}, {"code": "calcul", "label": "Calcul"}, {"code": "arts", "label": "Arts"}]}
CHILDREN = {"code": "enfants", "kind": "number", "label": "Enfants accompagnés", "integer": True}
QPV = {"code": "qpv", "kind": "yes_no", "label": "En QPV ?"}


def shown(condition, code="detail", required=False):
    return {"code": code, "kind": "text", "label": "Précisez", "required": required, "show_if": condition}


def visible_with(condition, answers, *before) -> bool:
    built = build_definition(definition(*(before or (THEMES, CHILDREN, QPV)), shown(condition)))
    return is_visible(built.questions["detail"], answers)


@pytest.mark.parametrize("condition,answers,expected", [
    ({"question": "themes", "any_of": ["lecture", "arts"]}, {"themes": ["arts"]}, True),
    ({"question": "themes", "any_of": ["lecture", "arts"]}, {"themes": ["calcul"]}, False),
    ({"question": "themes", "all_of": ["lecture", "arts"]}, {"themes": ["lecture", "arts", "calcul"]}, True),
    ({"question": "themes", "all_of": ["lecture", "arts"]}, {"themes": ["lecture"]}, False),
    ({"question": "themes", "none_of": ["arts"]}, {"themes": ["lecture"]}, True),
    ({"question": "themes", "none_of": ["arts"]}, {}, True),
    ({"question": "themes", "none_of": ["arts"]}, {"themes": ["arts"]}, False),
    ({"question": "qpv", "any_of": ["oui"]}, {"qpv": "oui"}, True),
    ({"question": "enfants", "gt": 10}, {"enfants": 11}, True),
    ({"question": "enfants", "gt": 10}, {"enfants": 10}, False),
    ({"question": "enfants", "gte": 10}, {"enfants": 10}, True),
    ({"question": "enfants", "lt": 10}, {"enfants": 9.5}, True),
    ({"question": "enfants", "lte": 10}, {"enfants": 11}, False),
    ({"question": "enfants", "eq": 0}, {"enfants": 0}, True),
    ({"question": "enfants", "lt": 10}, {}, False),
    ({"all": [{"question": "qpv", "any_of": ["oui"]}, {"question": "enfants", "gte": 5}]}, {"qpv": "oui", "enfants": 5}, True),
    ({"all": [{"question": "qpv", "any_of": ["oui"]}, {"question": "enfants", "gte": 5}]}, {"qpv": "oui", "enfants": 4}, False),
    ({"any": [{"question": "qpv", "any_of": ["oui"]}, {"question": "enfants", "gte": 5}]}, {"qpv": "non", "enfants": 7}, True),
    ({"any": [{"question": "qpv", "any_of": ["oui"]}, {"all": [{"question": "enfants", "gte": 5},
                                                               {"question": "themes", "none_of": ["arts"]}]}]},
     {"qpv": "non", "enfants": 7, "themes": ["arts"]}, False),
])
def test_each_condition_holds_exactly_when_it_says(condition, answers, expected):
    assert visible_with(condition, answers) is expected


def test_a_condition_may_test_a_question_of_an_earlier_page():
    built = build_definition(pages([QPV], [shown({"question": "qpv", "any_of": ["oui"]})]))
    assert is_visible(built.questions["detail"], {"qpv": "oui"})
    assert not is_visible(built.questions["detail"], {"qpv": "non"})


def refusal(data) -> str:
    with pytest.raises(DefinitionError) as raised:
        build_definition(data)
    return "\n".join(raised.value.errors)


@pytest.mark.parametrize("data,expected", [
    pytest.param(pages([shown({"question": "qpv", "any_of": ["oui"]})], [QPV]),
                 "pages[0].questions[0] (code=detail).show_if.question: show_if désigne 'qpv', qui n’est pas une question "
                 "placée avant", id="forward reference to a later page"),
    pytest.param(definition(shown({"question": "detail", "any_of": ["oui"]})),
                 "pages[0].questions[0] (code=detail).show_if.question: show_if désigne 'detail'", id="itself"),
    pytest.param(definition(QPV, shown({"all": [{"question": "qpv", "any_of": ["oui"]}, {"question": "x", "gt": 1}]})),
                 "pages[0].questions[1] (code=detail).show_if.all[1].question: show_if désigne 'x'", id="nested path"),
    pytest.param(definition(QPV, shown({"question": "qpv", "gt": 1})),
                 "show_if.gt: 'qpv' n’est pas une question à réponse numérique", id="number test on a choice"),
    pytest.param(definition(CHILDREN, shown({"question": "enfants", "any_of": ["a"]})),
                 "show_if.any_of: 'enfants' n’a pas de choix à tester", id="choice test on a number"),
    pytest.param(definition(CHILDREN, shown({"question": "enfants", "gt": "10"})),
                 "show_if.gt: un nombre est attendu", id="number test with a string"),
    pytest.param(definition(QPV, shown({"question": "qpv", "any_of": ["oui"], "none_of": ["non"]})),
                 "show_if: un seul test est attendu", id="two tests in one"),
    pytest.param(definition(QPV, shown({"question": "qpv", "one_of": ["oui"]})),
                 "clés inconnues : ['one_of']", id="unknown test"),
    pytest.param(definition(QPV, shown({"any": []})), "show_if.any: une liste d’au moins une condition", id="empty any"),
    pytest.param(definition(THEMES, shown({"question": "themes", "all_of": ["danse"]})),
                 "show_if.all_of: choix inconnus de 'themes' : ['danse']", id="unknown choice"),
    pytest.param({**pages([QPV], [QPV | {"code": "autre"}]),
                  "pages": [{"code": "p1", "title": "P1", "questions": [QPV]},
                            {"code": "p2", "title": "P2", "show_if": {"question": "autre", "any_of": ["oui"]},
                             "questions": [QPV | {"code": "autre"}]}]},
                 "pages[1].show_if.question: show_if désigne 'autre'", id="page testing its own question"),
])
def test_forward_references_cycles_and_mistyped_conditions_are_refused_with_their_path(data, expected):
    assert expected in refusal(data)


def conditional_page_definition():
    data = pages([QPV], [shown({"question": "qpv", "any_of": ["oui"]}, "quartier", required=True)],
                 [{"code": "bilan", "kind": "text", "label": "Bilan", "required": True}])
    data["pages"][1]["show_if"] = {"question": "qpv", "any_of": ["oui"]}
    return build_definition(data)


def test_a_whole_page_is_asked_only_when_its_condition_holds():
    built = conditional_page_definition()
    assert is_page_visible(built.pages[1], {"qpv": "oui"})
    assert not is_page_visible(built.pages[1], {"qpv": "non"})
    assert next_page(built, {"qpv": "non"}, 1, 1) == 3
    assert next_page(built, {"qpv": "non"}, 3, -1) == 1
    assert next_page(built, {"qpv": "oui"}, 1, 1) == 2
    assert next_page(built, {"qpv": "oui"}, 3, 1) is None


def test_hidden_answers_are_cleared_and_completeness_and_steps_follow_visibility():
    built = conditional_page_definition()
    answers, invalid = {"qpv": "non", "quartier": "Les Hauts", "bilan": "ok"}, {}
    prune_hidden(built, answers, invalid)
    assert answers == {"qpv": "non", "bilan": "ok"}
    assert find_problems(built, answers, invalid) == []
    assert [step.status for step in steps(built, answers, invalid)] == ["complète", "sans objet", "complète"]
    answers["qpv"] = "oui"
    assert [p.question.code for p in find_problems(built, answers, invalid)] == ["quartier"]
    assert [step.status for step in steps(built, answers, invalid)] == ["complète", "à compléter", "complète"]


def test_a_condition_is_described_in_french():
    built = build_definition(definition(THEMES, CHILDREN, shown(
        {"any": [{"question": "themes", "none_of": ["arts", "calcul"]}, {"question": "enfants", "gte": 12}]})))
    assert built.questions["detail"].own_condition.describe() == (
        "(vous n’avez coché ni « Arts » ni « Calcul » à la question « Thèmes » ou votre réponse à la question "
        "« Enfants accompagnés » est supérieure ou égale à 12)")


def test_the_browser_gets_tests_of_other_pages_already_decided():
    built = build_definition(pages([QPV], [CHILDREN, shown(
        {"all": [{"question": "qpv", "any_of": ["oui"]}, {"question": "enfants", "gt": 3}]})]))
    condition = built.questions["detail"].own_condition
    assert condition.for_browser({"enfants", "detail"}, {"qpv": "oui"}) == {"all": [{"question": "enfants", "gt": 3}]}
    assert condition.for_browser({"enfants", "detail"}, {"qpv": "non"}) == {"const": False}
    either = build_definition(pages([QPV], [CHILDREN, shown(
        {"any": [{"question": "qpv", "any_of": ["oui"]}, {"question": "enfants", "gt": 3}]})])).questions["detail"]
    assert either.own_condition.for_browser({"enfants", "detail"}, {"qpv": "oui"}) == {"const": True}
    assert either.own_condition.for_browser({"enfants", "detail"}, {"qpv": "non"}) == {"any": [{"question": "enfants", "gt": 3}]}
