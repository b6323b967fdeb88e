"""app.js shows and hides conditional questions as survey/engine/conditions.py decides, live, in Chromium."""
import pytest

from .test_accessibility import preview_upload, visitors  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_choice_tests_combinations_and_number_comparisons_follow_what_is_typed(visitors):  # noqa: F811
    page = visitors.page("admin")
    preview_upload(None, 3)(page, visitors)
    access = page.locator("#q-accessibilite").locator("xpath=..")
    staffing = page.locator("#q-encadrement").locator("xpath=..")
    no_children = page.locator("#q-sans_enfants").locator("xpath=..")
    assert access.is_hidden() and staffing.is_hidden()
    assert no_children.is_hidden(), "formule (another page) is unanswered in the preview: decided false"
    page.get_by_label("Personnes en situation de handicap").check()
    assert access.is_visible()
    page.get_by_label("Adolescents").check()
    assert staffing.is_hidden(), "all_of needs both"
    page.get_by_label("Parents").check()
    assert staffing.is_visible()
    page.get_by_label("Parents").uncheck()
    assert staffing.is_hidden()

    preview_upload(None, 2)(page, visitors)
    nights = page.locator("#q-nuit_difficile").locator("xpath=..")
    field = page.get_by_label("Nombre de nuits")
    assert nights.is_hidden()
    field.fill("6")
    assert nights.is_visible(), "gte 5, as the partner types"
    field.fill("4,5")
    assert nights.is_hidden()
    field.fill("5")
    assert nights.is_visible()
