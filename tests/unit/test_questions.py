"""Each question kind, read through a real page form; then what is missing, and display."""
import pytest

from survey.engine.definition import build_definition

from .factories import definition

TEXT = {"code": "nom", "kind": "text", "label": "Nom", "max_length": 5}
LONG_TEXT = {"code": "bilan", "kind": "long_text", "label": "Bilan", "min_length": 10, "max_length": 20}
EMAIL = {"code": "email", "kind": "email", "label": "Votre mail"}
SIRET = {"code": "siret", "kind": "siret", "label": "Numéro de Siret"}
SIREN = {"code": "siren", "kind": "siren", "label": "Numéro de Siren"}
POSTAL_CODE = {"code": "cp", "kind": "postal_code", "label": "Code postal"}
INSEE = {"code": "insee", "kind": "insee_code", "label": "Code Insee"}
STATUT = {"code": "statut", "kind": "single_choice", "label": "Statut de la structure", "choices": [
    {"code": "associatif", "label": "Associatif"},
    {"code": "public", "label": "Public"},
    {"code": "autre", "label": "Autre", "followup": {"code": "statut_autre", "label": "Si 'Autre' précisez"}},
]}
AGES = {"code": "ages", "kind": "multiple_choice", "label": "Votre action concerne les", "choices": [
    {"code": "primaire", "label": "6 à 10 ans (primaire)"},
    {"code": "college", "label": "11 à 15 ans (collège)"},
    {"code": "lycee", "label": "16 à 18 ans (lycée)"},
]}
QPV = {"code": "qpv", "kind": "yes_no", "label": "Votre action se déroule dans un QPV ?"}
GRID = {"code": "grille", "kind": "matrix", "label": "Actions réalisées", "rows": [
    {"code": "rencontres", "label": "Rencontres individuelles"},
    {"code": "convivialite", "label": "Temps de convivialité"},
], "columns": [{"code": "oui", "label": "Oui"}, {"code": "non", "label": "Non"}]}

SIRET_MESSAGE = "Le numéro de SIRET doit compter 14 chiffres et être valide"
NO_SUCH_CHOICE = "Ce choix n'existe pas : choisissez l'une des réponses proposées."


def question(spec: dict, **changes):
    """The built Question for ``spec`` (with ``changes`` applied)."""
    spec = {**spec, **changes}
    return build_definition(definition(spec)).questions[spec["code"]]


# -- free text ---------------------------------------------------------------

def test_text_within_max_length_is_stored(answer):
    outcome = answer(TEXT, "Alice")

    assert (outcome.value, outcome.errors) == ("Alice", [])


def test_text_over_max_length_is_kept_as_raw_with_an_error(answer):
    outcome = answer(TEXT, "Alice B.")

    assert outcome.value is None
    assert outcome.raw == "Alice B."
    assert outcome.errors == ["Le texte compte 8 caractères, pour 5 au plus : raccourcissez-le de 3 caractères. Il est conservé tel que vous l’avez saisi."]


def test_text_left_empty_is_unanswered_without_error(answer):
    outcome = answer(TEXT, "   ")

    assert (outcome.value, outcome.raw, outcome.errors) == (None, None, [])


def test_text_loses_control_characters(answer):
    assert answer(TEXT, "A\x00l\x1bi\x07ce").value == "Alice"


def test_long_text_keeps_its_line_breaks(answer):
    outcome = answer({**LONG_TEXT, "max_length": 100}, "Première ligne\r\nseconde\x0b ligne")

    assert outcome.value == "Première ligne\nseconde ligne"


@pytest.mark.parametrize("typed, message", [
    ("Trop court", None),
    ("Court", "Écrivez au moins 10 caractères (le texte en compte 5)."),
    ("Bien plus long que vingt",
     "Le texte compte 24 caractères, pour 20 au plus : raccourcissez-le de 4 caractères. Il est conservé tel que vous l’avez saisi."),
])
def test_long_text_bounds_are_counted_in_characters(answer, typed, message):
    outcome = answer(LONG_TEXT, typed)

    if message is None:
        assert (outcome.value, outcome.errors) == (typed, [])
    else:
        assert (outcome.value, outcome.raw, outcome.errors) == (None, typed, [message])


@pytest.mark.parametrize("typed", ["nom@structure.fr", "prenom.nom+clas@caf-savoie.example.org"])
def test_valid_email_is_stored(answer, typed):
    assert answer(EMAIL, typed).value == typed


@pytest.mark.parametrize("typed", ["nom@structure", "nom structure@x.fr", "@structure.fr", "nom@-structure.fr"])
def test_invalid_email_is_kept_as_raw_with_an_error(answer, typed):
    outcome = answer(EMAIL, typed)

    assert (outcome.value, outcome.raw) == (None, typed)
    assert outcome.errors == ["L’adresse électronique n’est pas valide, par exemple : nom@structure.fr."]


# -- numbers -------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("77567227200017", "77567227200017"),
    ("775 672 272 00017", "77567227200017"),
    ("775.672.272-00017", "77567227200017"),
    # La Poste's establishments break the Luhn check; stdnum knows the exception.
    ("35600000000048", "35600000000048"),
])
def test_valid_siret_is_stored_as_digits(answer, typed, stored):
    outcome = answer(SIRET, typed)

    assert (outcome.value, outcome.errors) == (stored, [])


@pytest.mark.parametrize("typed, raw", [
    ("775 672 272 00018", "77567227200018"),
    ("7756722720001", "7756722720001"),
    ("7756722720001A", "7756722720001A"),
])
def test_invalid_siret_is_kept_as_raw_with_an_error(answer, typed, raw):
    outcome = answer(SIRET, typed)

    assert (outcome.value, outcome.raw) == (None, raw)
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith(SIRET_MESSAGE)


def test_valid_siren_is_stored(answer):
    assert answer(SIREN, "775 672 272").value == "775672272"


def test_siren_failing_its_checksum_is_refused(answer):
    outcome = answer(SIREN, "775672271")

    assert (outcome.value, outcome.raw) == (None, "775672271")
    assert outcome.errors == ["Le numéro de SIREN doit compter 9 chiffres et être valide."]


def test_five_digit_postal_code_is_stored(answer):
    assert answer(POSTAL_CODE, "73000").value == "73000"


@pytest.mark.parametrize("typed", ["7300", "730000", "73 0A0"])
def test_postal_code_not_of_five_digits_is_refused(answer, typed):
    outcome = answer(POSTAL_CODE, typed)

    assert outcome.value is None
    assert outcome.errors == ["Le code postal doit compter 5 chiffres, par exemple 73000."]


@pytest.mark.parametrize("typed, stored", [
    ("73065", "73065"),
    ("2A004", "2A004"),
    ("2B033", "2B033"),
    ("2a004", "2A004"),
    ("97411", "97411"),
])
def test_valid_insee_code_is_stored_upper_case(answer, typed, stored):
    outcome = answer(INSEE, typed)

    assert (outcome.value, outcome.errors) == (stored, [])


@pytest.mark.parametrize("typed", ["20004", "2C004", "7306", "A3065"])
def test_invalid_insee_code_is_refused(answer, typed):
    outcome = answer(INSEE, typed)

    assert (outcome.value, outcome.raw) == (None, typed)
    assert outcome.errors and "2A ou 2B pour la Corse" in outcome.errors[0]


# -- choices -------------------------------------------------------------------

def test_single_choice_stores_the_picked_code(answer):
    outcome = answer(STATUT, "public")

    assert (outcome.value, outcome.errors) == ("public", [])


def test_forged_single_choice_is_refused_and_not_kept(answer):
    outcome = answer(STATUT, "<script>")

    assert (outcome.value, outcome.raw) == (None, None)
    assert outcome.errors == [NO_SUCH_CHOICE]


def test_followup_is_kept_when_its_choice_is_picked(answer):
    outcome = answer(STATUT, {"statut": "autre", "statut_autre": "  Fondation  "})

    assert outcome.value == "autre"
    followup = outcome.extra["statut_autre"]
    assert (followup.value, followup.errors) == ("Fondation", [])


def test_followup_is_cleared_when_another_choice_is_picked(answer):
    outcome = answer(STATUT, {"statut": "public", "statut_autre": "Fondation"})

    assert outcome.value == "public"
    followup = outcome.extra["statut_autre"]
    assert (followup.value, followup.raw, followup.errors) == (None, None, [])


def test_followup_too_long_is_kept_as_raw_with_an_error(answer):
    typed = "x" * 501

    followup = answer(STATUT, {"statut": "autre", "statut_autre": typed}).extra["statut_autre"]

    assert (followup.value, followup.raw) == (None, typed)
    assert followup.errors == ["Le texte compte 501 caractères, pour 500 au plus : raccourcissez-le de 1 caractère. Il est conservé tel que vous l’avez saisi."]


def test_multiple_choice_keeps_the_definition_order(answer):
    outcome = answer(AGES, {"ages": ["lycee", "primaire", "lycee"]})

    assert (outcome.value, outcome.errors) == (["primaire", "lycee"], [])


def test_multiple_choice_refuses_an_unknown_code(answer):
    outcome = answer(AGES, {"ages": ["primaire", "maternelle"]})

    assert (outcome.value, outcome.raw) == (None, None)
    assert outcome.errors == ["Un des choix n'existe pas : cochez parmi les réponses proposées."]


def test_multiple_choice_with_nothing_ticked_is_unanswered(answer):
    outcome = answer(AGES, {})

    assert (outcome.value, outcome.errors) == (None, [])


@pytest.mark.parametrize("picked", ["oui", "non"])
def test_yes_no_stores_oui_or_non(answer, picked):
    assert answer(QPV, picked).value == picked


def test_yes_no_refuses_anything_else(answer):
    outcome = answer(QPV, "peut-être")

    assert (outcome.value, outcome.errors) == (None, [NO_SUCH_CHOICE])


def test_matrix_stores_answered_rows_only(answer):
    outcome = answer(GRID, {"grille__convivialite": "non"})

    assert (outcome.value, outcome.errors) == ({"convivialite": "non"}, [])


def test_matrix_fully_answered_maps_every_row_to_its_column(answer):
    outcome = answer(GRID, {"grille__rencontres": "oui", "grille__convivialite": "non"})

    assert outcome.value == {"rencontres": "oui", "convivialite": "non"}


def test_matrix_refuses_a_forged_column_naming_its_row(answer):
    outcome = answer(GRID, {"grille__rencontres": "peut_etre", "grille__convivialite": "oui"})

    assert outcome.errors == [f"Rencontres individuelles : {NO_SUCH_CHOICE}"]
    assert "rencontres" not in (outcome.value or {})


# -- what a complete answer still lacks -------------------------------------------

def test_required_text_unanswered_is_missing():
    nom = question(TEXT, required=True)

    assert nom.missing({}) == ["Réponse obligatoire"]
    assert nom.missing({"nom": ""}) == ["Réponse obligatoire"]
    assert nom.missing({"nom": "Alice"}) == []


def test_optional_text_is_never_missing():
    assert question(TEXT).missing({}) == []


def test_required_matrix_without_any_row_is_missing_as_a_whole():
    assert question(GRID, required=True).missing({}) == ["Réponse obligatoire"]


def test_required_matrix_names_each_row_left_blank():
    grid = question(GRID, required=True)

    assert grid.missing({"grille": {"rencontres": "oui"}}) == ["Ligne sans réponse : Temps de convivialité"]
    assert grid.missing({"grille": {"rencontres": "oui", "convivialite": "non"}}) == []


def test_followup_is_missing_only_when_its_choice_is_picked():
    statut = question(STATUT, required=True)

    assert statut.missing({"statut": "autre"}) == ["Précisez : Si 'Autre' précisez"]
    assert statut.missing({"statut": "autre", "statut_autre": "Fondation"}) == []
    assert statut.missing({"statut": "public"}) == []


def test_multiple_choice_followup_is_missing_when_its_choice_is_ticked():
    ages = question(AGES, choices=[*AGES["choices"], {
        "code": "autre", "label": "Autre", "followup": {"code": "ages_autre", "label": "Précisez l'âge"}}])

    assert ages.missing({"ages": ["primaire", "autre"]}) == ["Précisez : Précisez l'âge"]


# -- display -------------------------------------------------------------------

@pytest.mark.parametrize("spec, value, lines", [
    (TEXT, "Alice", ["Alice"]),
    (TEXT, None, []),
    (STATUT, "associatif", ["Associatif"]),
    (AGES, ["primaire", "lycee"], ["6 à 10 ans (primaire)", "16 à 18 ans (lycée)"]),
    (QPV, "non", ["Non"]),
    (GRID, {"rencontres": "oui", "convivialite": "non"},
     ["Rencontres individuelles : Oui", "Temps de convivialité : Non"]),
    (GRID, None, []),
    ({"code": "doc", "kind": "file", "label": "Document"}, {"name": "bilan.pdf", "size": 2048}, ["bilan.pdf (2 Ko)"]),
])
def test_display_shows_french_labels(spec, value, lines):
    assert question(spec).display(value) == lines


def test_display_of_followups_lists_the_answered_ones():
    statut = question(STATUT)

    assert statut.display_followups({"statut": "autre", "statut_autre": "Fondation"}) == [("Si 'Autre' précisez", "Fondation")]
    assert statut.display_followups({"statut": "public"}) == []
