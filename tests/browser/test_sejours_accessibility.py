"""The third questionnaire (tests/definitions/sejours-2025.json: numbers, dates, conditions, a conditional page),
as its partner answers it: every page passes axe-core's WCAG 2.1 A and AA rules and fits a 360 px screen,
with its errors shown and its conditional questions revealed."""
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .audit import assert_accessible
from .conftest import PARIS, flask, mailed_links, new_context, write_csv

pytestmark = pytest.mark.browser

SEJOURS = Path(__file__).parents[1] / "definitions" / "sejours-2025.json"
CAMPAIGN = "sejours-2025-audit"
REFERENCE, CONTACT = "SEJ-73-001", "sejours@petits-loups.example"


@pytest.fixture(scope="module")
def partner(site, browser, tmp_path_factory):
    """The partner of a séjours campaign of its own, arrived by the personal link of its invitation."""
    now = datetime.now(PARIS).replace(microsecond=0)
    flask(site, "create-campaign", CAMPAIGN, str(SEJOURS), "--opens", f"{now - timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
          "--closes", f"{now + timedelta(days=30):%Y-%m-%d %H:%M:%S}", "--tz", "Europe/Paris")
    rows = [(REFERENCE, "Les Petits Loups", "77567227200017", "731", "Chambéry", CONTACT)]
    flask(site, "import-projects", CAMPAIGN, str(write_csv(tmp_path_factory.mktemp("sejours") / "sejours.csv", rows)))
    flask(site, "send-invitations", CAMPAIGN)
    context = new_context(browser)
    page = context.new_page()
    page.goto(mailed_links(site)[(REFERENCE, CONTACT)])
    yield page
    context.close()


def click(page, name):
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_every_page_of_the_sejours_questionnaire_passes_axe_and_fits_a_360px_screen(site, partner):
    page = partner
    assert page.url.endswith("/bilan")
    assert_accessible(page, "séjours: start")

    page.goto(site.url("/bilan/page/1"))
    assert_accessible(page, "séjours: step 1, blank")

    page.get_by_label("Nom et prénom de la personne référente").fill("Camille Martin")
    page.get_by_label("Séjour avec nuitées").check()
    page.get_by_label("Premier jour du séjour").fill("31/06/2025")
    page.get_by_label("Nombre de participants").fill("douze")
    page.get_by_label("Coût total du séjour").fill("12,345")
    click(page, "Enregistrer")
    assert page.locator(".error-summary li").count() == 3
    assert_accessible(page, "séjours: step 1 with a date, a whole number and a decimal refused")

    page.get_by_label("Premier jour du séjour").fill("14/07/2025")
    page.get_by_label("Nombre de participants").fill("60")
    page.get_by_label("Coût total du séjour").fill("1 234,50")
    click(page, "Enregistrer et passer à l’étape suivante")
    assert page.url.endswith("/bilan/page/2"), "the conditional page applies to a stay with nights"
    assert_accessible(page, "séjours: step 2, the conditional page")

    page.get_by_label("Nombre de nuits").fill("6")
    page.get_by_role("radio", name="Autre").check()
    assert page.get_by_label("Comment se sont passées les premières nuits ?").is_visible()
    assert page.get_by_label("Précisez le type d’hébergement").is_visible()
    assert_accessible(page, "séjours: step 2 with a number condition and a follow-up revealed")

    click(page, "Enregistrer et passer à l’étape suivante")
    assert page.url.endswith("/bilan/page/3")
    assert_accessible(page, "séjours: step 3, blank")
    for public in ("Adolescents", "Parents", "Personnes en situation de handicap"):
        page.get_by_label(public).check()
    assert page.get_by_label("Comment le séjour a-t-il été rendu accessible ?").is_visible()
    assert page.get_by_label("Comment l’encadrement a-t-il été renforcé ?").is_visible()
    assert_accessible(page, "séjours: step 3 with choice conditions revealed")

    story = page.get_by_label("Racontez le séjour en quelques lignes")
    story.fill("Trop court")
    click(page, "Enregistrer et voir le récapitulatif")
    assert page.url.endswith("/bilan/page/3") and page.locator(".error-summary li").count() == 1
    assert_accessible(page, "séjours: step 3 with a text too short")

    story.fill("Un séjour réussi : les enfants ont découvert la montagne.")
    click(page, "Enregistrer et voir le récapitulatif")
    assert page.url.endswith("/bilan/recapitulatif")
    assert_accessible(page, "séjours: summary with points to complete")
