"""The definition checker: what it accepts, and how it names what it refuses."""
import json
from pathlib import Path

import pytest

import survey.questionnaires
from survey import create_app
from survey.engine.definition import build_definition, read_definition_file
from survey.engine.errors import DefinitionError
from survey.engine.questions import KINDS, build_registry
from survey.engine.questions.text import SiretQuestion, TextQuestion
from survey.questionnaires import DEFINITIONS_DIR

from .factories import definition, pages

CLAS_FILE = DEFINITIONS_DIR / "clas-2023-2024.json"
ATELIER_FILE = Path(__file__).parents[1] / "definitions" / "atelier-2025.json"

TEXT_A = {"code": "a", "kind": "text", "label": "A"}
TEXT_B = {"code": "b", "kind": "text", "label": "B"}
YES_NO = {"code": "revenir", "kind": "yes_no", "label": "Reviendrez-vous ?"}
SIRET = {"code": "siret", "kind": "siret", "label": "Numéro de Siret"}
SIREN = {"code": "siren", "kind": "siren", "label": "Numéro de Siren"}
COLUMNS = [{"code": "oui", "label": "Oui"}, {"code": "non", "label": "Non"}]
THEMES = {"code": "themes", "kind": "multiple_choice", "label": "Thèmes", "choices": COLUMNS}


def refusal(data) -> str:
    """The one error the checker reports for ``data``."""
    with pytest.raises(DefinitionError) as caught:
        build_definition(data)
    assert len(caught.value.errors) == 1, caught.value.errors
    return caught.value.errors[0]


def shown_if(code, question, *any_of):
    return {"code": code, "kind": "text", "label": code.capitalize(),
            "show_if": {"question": question, "any_of": list(any_of)}}


# -- the bundled CLAS definition --------------------------------------------

@pytest.fixture(scope="module")
def clas():
    return read_definition_file(CLAS_FILE)[1]


def test_clas_has_the_eight_pages_of_the_seed_in_its_order(clas):
    assert [(page.code, page.title) for page in clas.pages] == [
        ("identification", "Identification de la structure"),
        ("localisation", "Localisation de l’action"),
        ("public", "Public de l’action"),
        ("situations", "L’action Clas"),
        ("activites", "Activités proposées"),
        ("parents", "Relations avec les parents"),
        ("inscription", "Inscription au Clas"),
        ("bilan", "Formation et bilan"),
    ]


def test_clas_asks_the_seed_questions_page_by_page(clas):
    assert [[q.code for q in page.questions] for page in clas.pages] == [
        ["nom_structure", "statut_structure", "caf_nom", "caf_numero", "email", "siret", "siren"],
        ["lieu_action", "commune", "code_postal", "code_insee", "numero_voie", "voie"],
        ["qpv", "tranches_age"],
        ["situations_enfants"],
        ["types_activites"],
        ["contractualisation", "actions_parents"],
        ["origine_inscription"],
        ["formation_coordinateur", "formation_animateurs", "bilan_qualitatif", "document"],
    ]


def test_clas_has_four_matrix_grids_of_the_seed_sizes(clas):
    grids = {q.code: (len(q.rows), len(q.columns)) for q in clas.questions.values() if q.name == "matrix"}

    assert grids == {
        "situations_enfants": (6, 5),
        "types_activites": (9, 4),
        "actions_parents": (9, 2),
        "origine_inscription": (6, 4),
    }


def test_clas_answer_codes_are_unique_across_the_questionnaire(clas):
    codes = [code for q in clas.questions.values() for code in q.owned_codes()]

    assert len(codes) == len(set(codes))
    assert "statut_structure_autre" in codes


@pytest.mark.parametrize("option", ["choices", "rows", "columns"])
def test_clas_option_codes_are_unique_within_each_question(clas, option):
    holders = [q for q in clas.questions.values() if option in q.options]
    assert holders, f"no question of the CLAS definition has {option}"
    for question in holders:
        codes = [item["code"] for item in question.options[option]]
        assert len(codes) == len(set(codes)), question.code


def test_clas_requires_the_siren_to_match_the_siret(clas):
    (rule,) = clas.rules
    assert (rule.name, rule.siret, rule.siren) == ("siren_matches_siret", "siret", "siren")


def test_clas_2024_2025_ticks_no_bonus_criterion_only_alone():
    next_year = read_definition_file(DEFINITIONS_DIR / "clas-2024-2025.json")[1]
    exclusive = [(rule.question, rule.choice) for rule in next_year.rules if rule.name == "exclusive_choice"]
    assert exclusive == [("bonus_enfant_criteres", "aucun"), ("bonus_parents_criteres", "aucun")]


def test_atelier_test_definition_loads():
    raw, atelier = read_definition_file(ATELIER_FILE)

    assert raw["code"] == "atelier-2025"
    assert (atelier.code, atelier.version) == ("atelier-2025", 3)
    assert [page.code for page in atelier.pages] == ["participant", "avis"]
    assert atelier.questions["pourquoi_non"].show_if == {"question": "revenir", "any_of": ["non"]}


def test_a_definition_is_built_in_order_with_numbered_pages():
    built = build_definition(pages([TEXT_A], [TEXT_B]))

    assert list(built.questions) == ["a", "b"]
    assert [page.number for page in built.pages] == [1, 2]
    assert built.page(2) is built.pages[1]
    assert built.page(3) is None and built.page(0) is None


# -- what the checker refuses -------------------------------------------------

STATUT_FOLLOWUP_A = {"code": "statut", "kind": "single_choice", "label": "Statut", "choices": [
    {"code": "public", "label": "Public"},
    {"code": "autre", "label": "Autre", "followup": {"code": "a", "label": "Précisez"}},
]}
STATUT_CHOICE_TWICE = {"code": "statut", "kind": "single_choice", "label": "Statut", "choices": [
    {"code": "public", "label": "Public"},
    {"code": "public", "label": "Public encore"},
]}
RULE = {"kind": "siren_matches_siret", "siret": "siret", "siren": "siren"}

# Each broken definition, the place its one error must name, and what it must say.
BROKEN = [
    pytest.param(
        definition(TEXT_A, {"code": "b", "kind": "slider", "label": "B"}),
        "pages[0].questions[1] (code=b)", "type de question inconnu 'slider'", id="unknown kind"),
    pytest.param(
        definition({"code": "a", "kind": "text"}),
        "pages[0].questions[0] (code=a).label", "Missing data", id="missing label"),
    pytest.param(
        pages([TEXT_A], [TEXT_B, {"code": "a", "kind": "email", "label": "Encore A"}]),
        "pages[1].questions[1] (code=a)", "code en double 'a'", id="question code twice across pages"),
    pytest.param(
        definition(TEXT_A, STATUT_FOLLOWUP_A),
        "pages[0].questions[1] (code=statut)", "code en double 'a'", id="follow-up code equal to a question code"),
    pytest.param(
        definition(TEXT_A, STATUT_CHOICE_TWICE),
        "pages[0].questions[1] (code=statut)", "choix en double 'public'", id="choice code twice"),
    pytest.param(
        definition({"code": "grille", "kind": "matrix", "label": "Grille", "columns": COLUMNS}),
        "pages[0].questions[0] (code=grille).rows", "Missing data", id="matrix without rows"),
    pytest.param(
        definition({"code": "grille", "kind": "matrix", "label": "Grille", "rows": [], "columns": COLUMNS}),
        "pages[0].questions[0] (code=grille).rows", "minimum length 1", id="matrix with empty rows"),
    pytest.param(
        definition(YES_NO, shown_if("pourquoi", "inconnue", "non")),
        "pages[0].questions[1] (code=pourquoi)", "show_if désigne 'inconnue'", id="show_if to no question"),
    pytest.param(
        pages([shown_if("pourquoi", "revenir", "non")], [YES_NO]),
        "pages[0].questions[0] (code=pourquoi)", "show_if désigne 'revenir', qui n’est pas une question placée avant",
        id="show_if to a later question"),
    pytest.param(
        definition(YES_NO, shown_if("pourquoi", "revenir", "peut_etre")),
        "pages[0].questions[1] (code=pourquoi)", "choix inconnus de 'revenir' : ['peut_etre']",
        id="show_if with an unknown choice"),
    pytest.param(
        definition(SIRET, SIREN, rules=[{"kind": "siret_in_sirene"}]),
        "rules[0]", "règle inconnue", id="rule of unknown kind"),
    pytest.param(
        definition(SIRET, rules=[RULE]),
        "rules[0]", "la question 'siren' n'existe pas", id="rule to a missing question"),
    pytest.param(
        definition(SIRET, {"code": "siren", "kind": "text", "label": "Siren"}, rules=[RULE]),
        "rules[0]", "la question 'siren' est de type text, attendu siren", id="rule to a question of the wrong kind"),
    pytest.param(
        definition(YES_NO, rules=[{"kind": "exclusive_choice", "question": "revenir", "choice": "non"}]),
        "rules[0]", "la question 'revenir' est de type yes_no, attendu multiple_choice",
        id="exclusive choice on a question with one answer"),
    pytest.param(
        definition(THEMES, rules=[{"kind": "exclusive_choice", "question": "themes", "choice": "aucun"}]),
        "rules[0]", "le choix 'aucun' n'existe pas dans la question 'themes'", id="exclusive choice that does not exist"),
    pytest.param(
        definition(TEXT_A, {"code": "version", "kind": "text", "label": "Version"}),
        "pages[0].questions[1] (code=version)", "le code 'version' est réservé", id="reserved code version"),
    pytest.param(
        definition(TEXT_A, {"code": "data", "kind": "text", "label": "Data"}),
        "pages[0].questions[1] (code=data)", "le code 'data' est réservé", id="reserved code data"),
    pytest.param(
        definition(TEXT_A, {"code": "a__b", "kind": "text", "label": "AB"}),
        "pages[0].questions[1] (code=a__b)", "le code 'a__b' est réservé (ou contient __)", id="code with __"),
    pytest.param(
        definition({"code": "a", "kind": "text", "label": "A", "rows": COLUMNS}),
        "pages[0].questions[0] (code=a).rows", "Unknown field", id="rows on a text question"),
    pytest.param(
        definition({"code": "a", "kind": "email", "label": "A", "max_length": 10}),
        "pages[0].questions[0] (code=a).max_length", "Unknown field", id="max_length on an email question"),
    pytest.param(
        definition({"code": "a", "kind": "yes_no", "label": "A", "choices": COLUMNS}),
        "pages[0].questions[0] (code=a).choices", "Unknown field", id="choices on a yes_no question"),
]


@pytest.mark.parametrize("data, place, what", BROKEN)
def test_broken_definition_is_refused_saying_what_is_wrong(data, place, what):
    assert what in refusal(data)


@pytest.mark.parametrize("data, place, what", BROKEN)
def test_broken_definition_error_names_the_place_in_the_json(data, place, what):
    error = refusal(data)

    assert error.startswith(place), f"{error!r} should start with {place!r}"
    assert error[len(place)] in ":."


@pytest.mark.parametrize("code", ["version", "data", "csrf_token", "validate", "expected_version"])
def test_code_clashing_with_a_page_form_attribute_is_refused(code):
    # A field named like a method of the page form would replace that method.
    assert f"le code {code!r} est réservé" in refusal(definition(TEXT_A, {"code": code, "kind": "text", "label": "X"}))


@pytest.mark.parametrize("version", ["1", 1.5, True, 0])
def test_version_must_be_a_positive_integer(version):
    error = refusal(definition(TEXT_A, version=version))

    assert error.startswith("version: ")


def test_invalid_json_file_is_refused_with_line_and_column(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "code": "essai",\n  "version": 1,,\n}\n', encoding="utf-8")

    with pytest.raises(DefinitionError) as caught:
        read_definition_file(broken)

    assert caught.value.source == str(broken)
    (error,) = caught.value.errors
    assert error.startswith("JSON invalide, ligne 3 colonne 16")


def test_every_problem_is_reported_at_once():
    data = definition(
        {"code": "a", "kind": "slider", "label": "A"},
        {"code": "b", "kind": "text"},
        rules=[{"kind": "inconnue"}],
    )

    with pytest.raises(DefinitionError) as caught:
        build_definition(data, "essai.json")

    errors = caught.value.errors
    assert len(errors) == 3
    assert errors[0].startswith("pages[0].questions[0] (code=a): type de question inconnu")
    assert errors[1].startswith("pages[0].questions[1] (code=b).label: ")
    assert errors[2].startswith("rules[0]: règle inconnue")
    assert str(caught.value).startswith("essai.json: définition invalide\n")
    assert all(f"  - {error}" in str(caught.value) for error in errors)


# -- the check command and the start-up check ---------------------------------

@pytest.fixture
def cli():
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    return app.test_cli_runner()


def test_check_command_accepts_a_good_file(cli):
    result = cli.invoke(args=["check", str(ATELIER_FILE)])

    assert result.exit_code == 0
    assert "valide (atelier-2025 v3, 2 pages, 10 questions)" in result.output


def test_check_command_fails_on_a_bad_file_and_says_why(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(definition({"code": "a", "kind": "slider", "label": "A"})), encoding="utf-8")

    result = cli.invoke(args=["check", str(bad)])

    assert result.exit_code == 1
    assert f"{bad}: définition invalide" in result.output
    assert "pages[0].questions[0] (code=a): type de question inconnu 'slider'" in result.output


def test_app_refuses_to_start_on_a_broken_bundled_definition(tmp_path, monkeypatch):
    (tmp_path / "broken.json").write_text(json.dumps(definition({"code": "a", "kind": "text"})), encoding="utf-8")
    monkeypatch.setattr(survey.questionnaires, "DEFINITIONS_DIR", tmp_path)

    with pytest.raises(DefinitionError) as caught:
        create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})

    assert caught.value.source.endswith("broken.json")


# -- the registry of kinds ----------------------------------------------------

def test_registry_refuses_two_kinds_with_one_name():
    class AnotherText(SiretQuestion):
        name = "text"

    with pytest.raises(ValueError, match="'text'"):
        build_registry([TextQuestion, AnotherText])


def test_registry_maps_each_name_to_its_kind():
    assert KINDS["text"] is TextQuestion
    assert KINDS["siret"] is SiretQuestion
    assert all(name == kind.name for name, kind in KINDS.items())


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        KINDS["slider"] = TextQuestion
    assert "slider" not in KINDS


def test_every_kind_has_a_french_name_for_the_codebook_and_an_export_width():
    labels = {name: kind.kind_label for name, kind in KINDS.items()}
    assert labels["single_choice"] == "choix unique" and labels["matrix"] == "grille"
    assert len(set(labels.values())) == len(labels), "two kinds would read alike in the codebook"
    assert not any("_" in label for label in labels.values()), "a code, not French"
    assert all(8 <= kind.export_width <= 60 for kind in KINDS.values())
