"""Number and date questions, the input purpose of a field, and how many boxes a multiple choice takes."""
from collections import Counter
from datetime import date

import pytest

from survey.engine.answers import rule_errors
from survey.engine.definition import build_definition
from survey.engine.errors import DefinitionError

from .factories import definition

HOURS = {"code": "heures", "kind": "number", "label": "Heures d’accompagnement par semaine",
         "min": 0, "max": 40, "step": 0.5, "unit": "heures"}
CHILDREN = {"code": "enfants", "kind": "number", "label": "Enfants accompagnés", "integer": True, "min": 1}
START = {"code": "debut", "kind": "date", "label": "Date de début de l’action", "min": "2023-09-01", "max": "2024-07-15"}
TOPICS = {"code": "themes", "kind": "multiple_choice", "label": "Thèmes", "min_choices": 2, "max_choices": 3,
          "choices": [{"code": c, "label": c.capitalize()} for c in ("lecture", "calcul", "sciences", "arts", "sport")]}


def question(spec, **changes):
    spec = {**spec, **changes}
    return build_definition(definition(spec)).questions[spec["code"]]


def load_errors(spec) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        build_definition(definition(spec))
    return raised.value.errors


# -- number -------------------------------------------------------------------

@pytest.mark.parametrize("typed,stored", [
    ("12", 12), ("12,5", 12.5), ("12.5", 12.5), (" 7,0 ", 7), ("0", 0), ("40", 40), ("+3", 3),
])
def test_number_accepts_the_french_decimal_comma(answer, typed, stored):
    outcome = answer(HOURS, typed)
    assert (outcome.value, outcome.errors) == (stored, [])
    assert type(outcome.value) is type(stored)


@pytest.mark.parametrize("typed,message", [
    ("douze", "Écrivez un nombre en chiffres, par exemple 12 ou 12,5."),
    ("1,2,3", "Écrivez un nombre en chiffres, par exemple 12 ou 12,5."),
    ("1e3", "Écrivez un nombre en chiffres, par exemple 12 ou 12,5."),
    ("-1", "Le nombre doit être au moins 0."),
    ("40,5", "Le nombre doit être au plus 40."),
    ("12,25", "Le nombre doit aller de 0,5 en 0,5."),
])
def test_number_out_of_its_rules_is_kept_as_typed_with_a_french_message(answer, typed, message):
    outcome = answer(HOURS, typed)
    assert outcome.value is None
    assert outcome.raw == typed.strip()
    assert outcome.errors == [message]


def test_whole_number_refuses_a_decimal_and_reads_thousands_with_spaces(answer):
    assert answer(CHILDREN, "2,5").errors == ["Écrivez un nombre entier, sans virgule."]
    assert answer(CHILDREN, "1 234").value == 1234
    assert answer(CHILDREN, "1\u202f234").value == 1234
    assert answer(CHILDREN, "0").errors == ["Le nombre doit être au moins 1."]


def test_number_empty_is_unanswered(answer):
    outcome = answer(HOURS, "")
    assert (outcome.value, outcome.raw, outcome.errors) == (None, None, [])


def test_number_is_shown_french_with_its_unit_and_exported_as_a_number():
    hours = question(HOURS)
    assert hours.display(1234.5) == ["1\u00a0234,5 heures"]
    assert hours.export_cells({"heures": 12.5}, labels=True) == [12.5]
    assert hours.form_data({"heures": 1234.5}, {}) == {"heures": "1234,5"}
    assert hours.format_hint() == "Un nombre de 0 à 40 (heures)."
    assert hours.codebook_cell() == "Un nombre de 0 à 40 (heures)"
    assert hours.input_attributes() == {"type": "text", "inputmode": "decimal"}
    assert question(CHILDREN).input_attributes()["inputmode"] == "numeric"


def test_number_dashboard_gives_count_minimum_median_and_maximum():
    hours = question(HOURS)
    counts = Counter()
    for value in (2, 4, 4, 10.5):
        counts.update(hours.tally(value))
    assert hours.distribution(counts) == [("Nombre de réponses", "4"), ("Minimum", "2 heures"),
                                          ("Médiane", "4 heures"), ("Maximum", "10,5 heures")]


@pytest.mark.parametrize("changes,error", [
    ({"min": 10, "max": 5}, "min: min dépasse max"),
    ({"step": 0}, "step:"),
    ({"min": "dix"}, "min: un nombre est attendu"),
    ({"min": True}, "min: un nombre est attendu"),
    ({"unit": ""}, "unit:"),
])
def test_number_options_are_checked_when_the_definition_loads(changes, error):
    assert any(error in line for line in load_errors({**HOURS, **changes}))


# -- date ---------------------------------------------------------------------

@pytest.mark.parametrize("typed,stored", [
    ("15/07/2024", "2024-07-15"), ("1/9/2023", "2023-09-01"), ("15-07-2024", "2024-07-15"),
    ("15.07.2024", "2024-07-15"), ("2024-02-29", "2024-02-29"),
])
def test_date_typed_the_french_way_is_stored_iso(answer, typed, stored):
    outcome = answer(START, typed)
    assert (outcome.value, outcome.errors) == (stored, [])


@pytest.mark.parametrize("typed,message", [
    ("demain", "Écrivez la date sous la forme jj/mm/aaaa, par exemple 15/07/2024."),
    ("15/07/24", "Écrivez la date sous la forme jj/mm/aaaa, par exemple 15/07/2024."),
    ("31/02/2024", "Le 31/02/2024 n’existe pas dans le calendrier : vérifiez le jour et le mois."),
    ("31/08/2023", "La date doit être le 01/09/2023 ou après."),
    ("16/07/2024", "La date doit être le 15/07/2024 ou avant."),
])
def test_date_not_in_the_calendar_or_out_of_bounds_is_kept_with_a_french_message(answer, typed, message):
    outcome = answer(START, typed)
    assert (outcome.value, outcome.raw, outcome.errors) == (None, typed, [message])


def test_date_is_shown_in_words_exported_as_a_date_and_counted_by_month():
    start = question(START)
    assert start.display("2024-03-01") == ["1er mars 2024"]
    assert start.export_cells({"debut": "2024-07-15"}, labels=True) == [date(2024, 7, 15)]
    assert start.form_data({"debut": "2024-07-15"}, {}) == {"debut": "15/07/2024"}
    counts = Counter()
    for value in ("2024-01-31", "2023-09-01", "2024-01-02"):
        counts.update(start.tally(value))
    assert start.distribution(counts) == [("septembre 2023", 1), ("janvier 2024", 2)]
    assert start.format_hint() == "Format : jj/mm/aaaa, par exemple 15/07/2024, entre le 01/09/2023 et le 15/07/2024."


def test_date_options_must_be_iso_dates_in_order():
    assert any("min:" in line for line in load_errors({**START, "min": "01/09/2023"}))
    assert any("min est après max" in line for line in load_errors({**START, "min": "2025-01-01"}))


def test_same_dates_compare_equal_for_carry_over():
    assert question(START).same_as(question(START))
    assert not question(START).same_as(question(START, max="2024-07-31"))


# -- autocomplete (RGAA 11.13) ---------------------------------------------------

def test_a_question_declares_its_input_purpose():
    phone = question({"code": "tel", "kind": "text", "label": "Téléphone", "autocomplete": "tel"})
    assert phone.input_attributes() == {"type": "text", "autocomplete": "tel"}
    email = question({"code": "mail", "kind": "email", "label": "Courriel"})
    assert email.input_attributes()["autocomplete"] == "email"
    organisation = question({"code": "org", "kind": "email", "label": "Courriel", "autocomplete": "off"})
    assert organisation.input_attributes()["autocomplete"] == "off"


def test_an_unknown_input_purpose_or_one_on_a_choice_is_refused():
    assert any("autocomplete inconnu 'phone'" in line
               for line in load_errors({"code": "tel", "kind": "text", "label": "Téléphone", "autocomplete": "phone"}))
    assert any("autocomplete" in line for line in load_errors({**TOPICS, "autocomplete": "name"}))


# -- min_choices / max_choices ---------------------------------------------------

def test_multiple_choice_says_how_many_boxes_to_tick():
    assert question(TOPICS).count_hint() == "Cochez de 2 à 3 réponses."
    assert question(TOPICS, min_choices=None).count_hint() == "Cochez au plus 3 réponses."
    assert question(TOPICS, max_choices=None, min_choices=1).count_hint() == "Cochez au moins 1 réponse."
    assert question(TOPICS, max_choices=2).count_hint() == "Cochez 2 réponses."
    assert question(TOPICS, max_choices=None, min_choices=None).count_hint() == "Plusieurs réponses possibles."


@pytest.mark.parametrize("picked,error", [
    (["lecture"], "Cochez de 2 à 3 réponses : vous en avez coché 1."),
    (["lecture", "calcul"], None),
    (["lecture", "calcul", "arts", "sport"], "Cochez de 2 à 3 réponses : vous en avez coché 4."),
])
def test_too_few_or_too_many_ticks_are_kept_and_flagged_like_a_broken_rule(answer, picked, error):
    outcome = answer(TOPICS, {"themes": picked})
    assert outcome.value == picked and outcome.errors == []
    built = build_definition(definition(TOPICS))
    assert rule_errors(built, {"themes": picked}).get("themes") == error


@pytest.mark.parametrize("changes,error", [
    ({"min_choices": 4, "max_choices": 3}, "min_choices dépasse max_choices"),
    ({"min_choices": None, "max_choices": 6}, "plus de réponses demandées que de choix proposés"),
    ({"min_choices": 0}, "min_choices:"),
])
def test_choice_counts_are_checked_when_the_definition_loads(changes, error):
    assert any(error in line for line in load_errors({**TOPICS, **changes}))
