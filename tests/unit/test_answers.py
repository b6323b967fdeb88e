"""Rules over stored answers: visibility, pruning, problems before transmission, prefill."""
import pytest

from survey.engine.answers import find_problems, is_visible, prefilled_answers, prune_hidden, rule_errors, stored_errors
from survey.engine.definition import build_definition

from .factories import definition, pages

NOM = {"code": "nom", "kind": "text", "label": "Nom de la structure", "required": True, "prefill": "structure_name"}
STATUT = {"code": "statut", "kind": "single_choice", "label": "Statut", "required": True, "choices": [
    {"code": "public", "label": "Public"},
    {"code": "autre", "label": "Autre", "followup": {"code": "statut_autre", "label": "Si 'Autre' précisez"}},
]}
REVENIR = {"code": "revenir", "kind": "yes_no", "label": "Reviendrez-vous ?", "required": True}
POURQUOI = {"code": "pourquoi", "kind": "long_text", "label": "Pourquoi ?", "required": True,
            "show_if": {"question": "revenir", "any_of": ["non"]}}
THEMES = {"code": "themes", "kind": "multiple_choice", "label": "Thèmes", "choices": [
    {"code": "tableur", "label": "Le tableur"},
    {"code": "messagerie", "label": "La messagerie"},
]}
TABLEUR = {"code": "niveau_tableur", "kind": "text", "label": "Votre niveau",
           "show_if": {"question": "themes", "any_of": ["tableur"]}}
SIRET = {"code": "siret", "kind": "siret", "label": "Numéro de Siret", "required": True, "prefill": "siret"}
SIREN = {"code": "siren", "kind": "siren", "label": "Numéro de Siren", "required": True, "prefill": "siren"}
SIREN_RULE = {"kind": "siren_matches_siret", "siret": "siret", "siren": "siren"}
CRITERES = {"code": "criteres", "kind": "multiple_choice", "label": "Critères remplis", "required": True, "choices": [
    {"code": "sorties", "label": "Des sorties culturelles"},
    {"code": "materiel", "label": "Du matériel"},
    {"code": "aucun", "label": "Aucun de ces critères"},
]}
ALONE_RULE = {"kind": "exclusive_choice", "question": "criteres", "choice": "aucun"}


def built(*questions, rules=()):
    return build_definition(definition(*questions, rules=rules))


# -- visibility ----------------------------------------------------------------

@pytest.mark.parametrize("answers, visible", [
    ({"revenir": "non"}, True),
    ({"revenir": "oui"}, False),
    ({}, False),
])
def test_question_with_show_if_shows_only_when_its_choice_is_picked(answers, visible):
    pourquoi = built(REVENIR, POURQUOI).questions["pourquoi"]

    assert is_visible(pourquoi, answers) is visible


@pytest.mark.parametrize("ticked, visible", [(["messagerie", "tableur"], True), (["messagerie"], False)])
def test_show_if_on_a_multiple_choice_tests_every_ticked_code(ticked, visible):
    niveau = built(THEMES, TABLEUR).questions["niveau_tableur"]

    assert is_visible(niveau, {"themes": ticked}) is visible


def test_question_without_show_if_is_always_visible():
    assert is_visible(built(NOM).questions["nom"], {})


def test_prune_hidden_drops_the_answer_and_invalid_value_of_a_hidden_question():
    survey_ = built(REVENIR, POURQUOI, THEMES, TABLEUR)
    answers = {"revenir": "oui", "pourquoi": "Trop loin", "themes": ["tableur"], "niveau_tableur": "débutant"}
    invalid = {"pourquoi": {"value": "x", "errors": ["Écrivez au moins 10 caractères (actuellement 1)."]}}

    prune_hidden(survey_, answers, invalid)

    assert answers == {"revenir": "oui", "themes": ["tableur"], "niveau_tableur": "débutant"}
    assert invalid == {}


def test_prune_hidden_drops_the_followups_of_a_hidden_choice_question():
    hidden_statut = {**STATUT, "show_if": {"question": "revenir", "any_of": ["oui"]}}
    answers = {"revenir": "non", "statut": "autre", "statut_autre": "Fondation"}

    prune_hidden(built(REVENIR, hidden_statut), answers, {})

    assert answers == {"revenir": "non"}


# -- problems that stop transmission -----------------------------------------------

def test_find_problems_lists_missing_answers_in_questionnaire_order():
    survey_ = build_definition(pages([NOM, STATUT], [REVENIR, POURQUOI]))

    problems = find_problems(survey_, {"revenir": "non", "statut": "autre"}, {})

    assert [(p.page.code, p.anchor, p.message) for p in problems] == [
        ("page1", "nom", "Réponse obligatoire"),
        ("page1", "statut", "Précisez : Si 'Autre' précisez"),
        ("page2", "pourquoi", "Réponse obligatoire"),
    ]


def test_find_problems_skips_hidden_questions():
    survey_ = built(REVENIR, POURQUOI)

    assert find_problems(survey_, {"revenir": "oui"}, {}) == []


def test_find_problems_asks_to_correct_an_invalid_value_instead_of_calling_it_missing():
    survey_ = built(NOM, SIRET)
    invalid = {"siret": {"value": "77567227200018", "errors": ["Le numéro de SIRET est faux."]}}

    problems = find_problems(survey_, {"nom": "Maison des jeunes"}, invalid)

    assert [(p.question.code, p.anchor, p.message) for p in problems] == [
        ("siret", "siret", "À corriger : Le numéro de SIRET est faux."),
    ]


def test_find_problems_asks_to_correct_an_invalid_followup_instead_of_calling_it_missing():
    invalid = {"statut_autre": {"value": "x" * 501, "errors": ["Écrivez au plus 500 caractères (actuellement 501)."]}}

    problems = find_problems(built(STATUT), {"statut": "autre"}, invalid)

    assert [(p.anchor, p.message) for p in problems] == [
        ("statut_autre", "À corriger : Écrivez au plus 500 caractères (actuellement 501)."),
    ]


def test_find_problems_reports_a_siren_that_is_not_the_start_of_the_siret():
    survey_ = built(SIRET, SIREN, rules=[SIREN_RULE])

    problems = find_problems(survey_, {"siret": "77567227200017", "siren": "552100554"}, {})

    assert [(p.anchor, p.message) for p in problems] == [
        ("siren", "À corriger : Le SIREN doit être égal aux 9 premiers chiffres du SIRET."),
    ]


def test_matching_siren_and_siret_break_no_rule():
    survey_ = built(SIRET, SIREN, rules=[SIREN_RULE])

    assert rule_errors(survey_, {"siret": "77567227200017", "siren": "775672272"}) == {}
    assert find_problems(survey_, {"siret": "77567227200017", "siren": "775672272"}, {}) == []


@pytest.mark.parametrize("ticked, broken", [
    (["aucun", "sorties"], True),
    (["materiel", "aucun"], True),
    (["aucun"], False),
    (["sorties", "materiel"], False),
])
def test_an_exclusive_choice_may_only_be_ticked_alone(ticked, broken):
    survey_ = built(CRITERES, rules=[ALONE_RULE])

    problems = [(p.anchor, p.message) for p in find_problems(survey_, {"criteres": ticked}, {})]

    message = "À corriger : « Aucun de ces critères » ne peut pas être coché avec un autre choix."
    assert problems == ([("criteres", message)] if broken else [])


def test_stored_errors_of_a_page_join_invalid_values_and_rules():
    survey_ = built(SIRET, SIREN, rules=[SIREN_RULE])
    invalid = {"siret": {"value": "1", "errors": ["Faux."]}, "ailleurs": {"value": "?", "errors": ["Hors page."]}}

    errors = stored_errors(survey_, survey_.pages[0], {"siret": "77567227200017", "siren": "552100554"}, invalid)

    assert errors == {
        "siret": ["Faux."],
        "siren": ["Le SIREN doit être égal aux 9 premiers chiffres du SIRET."],
    }


# -- prefill -------------------------------------------------------------------

def test_prefilled_answers_take_the_project_values_the_questions_ask_for():
    survey_ = built(NOM, SIRET, SIREN, REVENIR)
    project = {"structure_name": "Maison des jeunes", "siret": "77567227200017", "siren": "", "caf_name": "Caf de la Savoie"}

    assert prefilled_answers(survey_, project) == {"nom": "Maison des jeunes", "siret": "77567227200017"}
