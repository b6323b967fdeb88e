"""Every kind of page passes axe-core's WCAG 2.1 A and AA rules and needs no sideways scrolling at 360 px."""
from pathlib import Path

import pytest

from survey.demo import DEMO_CAMPAIGN

from .audit import assert_accessible
from .conftest import new_context, sign_in

pytestmark = pytest.mark.browser

DEMO_TITLE = "Clas 2023-2024 : bilan qualitatif"
IN_PROGRESS = "CLAS-74-001"  # a demo project of another Caf, opened but never transmitted here


class Visitors:
    """One browser profile per kind of visitor, made when first needed."""

    def __init__(self, site, browser, transmitted):
        self.site, self.browser, self.transmitted = site, browser, transmitted
        self.pages, self.contexts, self.paths = {}, [], {}

    def page(self, who):
        if who == "transmitted":
            return self.transmitted.page
        if who not in self.pages:
            context = new_context(self.browser)
            self.contexts.append(context)
            page = self.pages[who] = context.new_page()
            if who == "partner":
                page.goto(self.site.link(IN_PROGRESS))
            elif who == "closed":
                self.site.wait_until_closed()
                page.goto(self.site.closing_link)
            elif who in ("reviewer", "admin"):
                sign_in(page, self.site, getattr(self.site, who))
        return self.pages[who]

    def _href(self, key, start, link_name):
        if key not in self.paths:
            page = self.page("reviewer")
            page.goto(self.site.url(start))
            self.paths[key] = page.get_by_role("link", name=link_name, exact=True).get_attribute("href")
        return self.paths[key]

    def campaign(self):
        """The demo campaign's list of projects."""
        return self._href("campaign", "/caf/", DEMO_TITLE)

    def response(self):
        """The reviewer's page of the transmitted bilan."""
        return self._href("response", self.campaign(), self.transmitted.reference)

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="module")
def visitors(site, browser, transmitted):
    made = Visitors(site, browser, transmitted)
    yield made
    made.close()


def with_errors(page, visitors):
    page.goto(visitors.site.url("/bilan/page/2"))
    page.get_by_label("Code postal").fill("7300")
    page.get_by_label("Code Insee").fill("ABCDE")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    assert page.locator(".error-summary").count() == 1


def failed_sign_in(page, visitors):
    page.goto(visitors.site.url("/connexion"))
    page.get_by_label("Adresse électronique").fill("personne@caf.example")
    page.get_by_label("Mot de passe").fill("pas le bon mot de passe")
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    assert page.locator(".error-summary").count() == 1


def first_caf(page, visitors):
    page.goto(visitors.site.url("/admin/cafs"))
    with page.expect_navigation():
        page.locator("table a").first.click()


def refused_caf_settings(page, visitors):
    first_caf(page, visitors)
    page.get_by_label("Adresse électronique de contact").fill("pas-une-adresse")
    page.get_by_label("Nom de la Caf").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer les réglages").click()
    assert page.locator(".error-summary li").count() == 2


SEJOURS = Path(__file__).parents[1] / "definitions" / "sejours-2025.json"


def preview_upload(name, number=1):
    """The preview of tests/definitions/sejours-2025.json (numbers, dates, conditions), at step ``number``."""
    def visit(page, visitors):
        page.goto(visitors.site.url("/admin/apercu/"))
        page.set_input_files("#p-file", str(SEJOURS) if name is None else name)
        page.get_by_role("button", name="Vérifier et voir l’aperçu").click()
        page.wait_for_load_state()
        if number > 1:
            page.get_by_role("button", name=f"{number}. ").click()
            page.wait_for_load_state()
    return visit


def refused_correction(page, visitors):
    """The correction request sent with a question ticked but no message, and a past date."""
    page.goto(visitors.site.url(visitors.response()))
    page.get_by_text("Demander une correction au partenaire").click()
    page.locator("details.correction-page > summary").nth(1).click()
    page.locator("details.correction-page").nth(1).locator("input[type=checkbox]").first.check()
    page.get_by_label("Le partenaire peut corriger jusqu’au", exact=False).fill("2020-01-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer la demande de correction").click()
    assert page.title().startswith("Erreur :") and page.locator(".error-summary").count() == 1


def bulk_confirmation(page, visitors):
    """The confirmation before validating every transmitted bilan of the list's page."""
    page.goto(visitors.site.url(visitors.campaign()))
    page.get_by_label("Tous les bilans transmis de cette page", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Valider la sélection…").click()
    assert page.get_by_role("button", name="Confirmer la validation", exact=False).count() == 1


def go(path):
    return lambda page, visitors: page.goto(visitors.site.url(path(visitors) if callable(path) else path))


# (name, visitor, how to get there, HTTP status expected when it is a plain visit)
PAGES = [
    ("partner start", "partner", go("/bilan")),
    *[(f"questionnaire step {n}", "partner", go(f"/bilan/page/{n}")) for n in range(1, 9)],
    ("questionnaire step with errors", "partner", with_errors),
    ("summary with points to complete", "partner", go("/bilan/recapitulatif")),
    ("receipt", "transmitted", go("/bilan/accuse-de-reception")),
    ("summary of a transmitted bilan", "transmitted", go("/bilan/recapitulatif")),
    ("blank questionnaire", "anonymous", go(f"/questionnaire/{DEMO_CAMPAIGN}")),
    ("invalid personal link", "anonymous", go("/r/ce-lien-n-existe-pas")),
    ("page not found", "anonymous", go("/cette-page-n-existe-pas")),
    ("sign-in", "anonymous", go("/connexion")),
    ("sign-in refused", "anonymous", failed_sign_in),
    ("reviewer: campaigns", "reviewer", go("/caf/")),
    ("reviewer: list of projects", "reviewer", go(Visitors.campaign)),
    ("reviewer: response", "reviewer", go(Visitors.response)),
    ("reviewer: whole history", "reviewer", go(lambda v: v.response() + "?historique=complet")),
    ("reviewer: refused correction request", "reviewer", refused_correction),
    ("reviewer: bulk validation confirmation", "reviewer", bulk_confirmation),
    ("reviewer: free texts", "reviewer", go(lambda v: v.campaign() + "/textes")),
    ("reviewer: search in the free texts", "reviewer", go(lambda v: v.campaign() + "/textes?q=enfants&r.qpv=oui")),
    ("reviewer: frequent terms", "reviewer", go(lambda v: v.campaign() + "/termes")),
    ("administrator: free texts of every Caf", "admin", go(lambda v: v.campaign() + "/textes")),
    ("reviewer: correction of step 1", "reviewer", go(lambda v: v.response() + "/pages/1")),
    ("reviewer: correction of a grid (step 4)", "reviewer", go(lambda v: v.response() + "/pages/4")),
    ("reviewer: dashboard", "reviewer", go(lambda v: v.campaign() + "/tableau-de-bord")),
    ("reviewer: invitations and reminders", "reviewer", go(lambda v: v.campaign() + "/courriels")),
    ("reviewer: preview of a reminder", "reviewer", go(lambda v: v.campaign() + "/courriels/apercu?envoi=relance&jours=12")),
    ("reviewer: progress of a round", "reviewer", go(lambda v: v.campaign() + "/courriels/envoi?envoi=relance&jours=12")),
    ("reviewer: failed sends", "reviewer", go(lambda v: v.campaign() + "/courriels/echecs")),
    ("administrator: failed sends of every Caf", "admin", go(lambda v: v.campaign() + "/courriels/echecs")),
    ("reviewer: second factor set-up", "reviewer", go("/compte/double-authentification")),
    ("administrator: dashboard of every Caf", "admin", go(lambda v: v.campaign() + "/tableau-de-bord")),
    ("administrator: dashboard, Cafs by number", "admin", go(lambda v: v.campaign() + "/tableau-de-bord?tri=caf")),
    ("administrator: list of projects", "admin", go(Visitors.campaign)),
    ("administrator: projects of one Caf", "admin", go(lambda v: v.campaign() + "?caf=741")),
    ("administrator: administration", "admin", go("/admin/")),
    ("administrator: preview of a bundled questionnaire", "admin", go("/admin/apercu/clas-2023-2024/page/3")),
    ("administrator: preview of numbers, dates and conditions", "admin", preview_upload(None)),
    ("administrator: preview of a conditional page", "admin", preview_upload(None, 2)),
    ("administrator: preview of a broken definition", "admin", preview_upload(Path(__file__).parent / "broken-definition.json")),
    ("administrator: project import", "admin", go(lambda v: v.campaign().replace("/caf/", "/admin/") + "/import")),
    ("home page", "anonymous", go("/")),
    ("legal notice", "anonymous", go("/mentions-legales")),
    ("personal-data notice", "anonymous", go("/donnees-personnelles")),
    ("accessibility statement", "anonymous", go("/accessibilite")),
    ("Caf contacts", "anonymous", go("/contact")),
    ("administrator: Cafs", "admin", go("/admin/cafs")),
    ("administrator: a Caf's settings", "admin", first_caf),
    ("administrator: a Caf's settings refused", "admin", refused_caf_settings),
    ("administrator: Caf users", "admin", go("/admin/utilisateurs")),
    ("closed questionnaire: start", "closed", go("/bilan")),
    ("closed questionnaire: step 1", "closed", go("/bilan/page/1")),
    ("closed questionnaire: summary", "closed", go("/bilan/recapitulatif")),
]


@pytest.mark.parametrize("name, who, how", PAGES, ids=[name for name, _, _ in PAGES])
def test_the_page_passes_axe_and_fits_a_360px_screen(visitors, name, who, how):
    page = visitors.page(who)
    answer = how(page, visitors)
    if answer is not None:  # a plain visit: the page is the one meant, not an error page
        expected = 404 if name in ("invalid personal link", "page not found") else 200
        assert answer.status == expected, f"{name}: {page.url} answered {answer.status}"
    assert_accessible(page, name)
