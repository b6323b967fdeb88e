"""Complete answers to Clas 2023-2024, page by page, and a partner who fills them with the mouse."""
import json
import re
from dataclasses import dataclass

from survey.questionnaires import DEFINITIONS_DIR

CLAS = json.loads((DEFINITIONS_DIR / "clas-2023-2024.json").read_text(encoding="utf-8"))
QUESTIONS = {q["code"]: q for p in CLAS["pages"] for q in p["questions"]}
PAGE_COUNT = len(CLAS["pages"])
RECEIPT = re.compile(r"BQ-[0-9A-F]{10}")
BILAN = ("Une année riche : les enfants ont gagné en autonomie, les parents sont venus aux ateliers du jeudi "
         "et l'équipe a renforcé ses liens avec les deux écoles du quartier.")


@dataclass(frozen=True)
class Field:
    """One thing to do on a page: type a text, pick a radio, tick a box, attach the document."""

    kind: str  # text | radio | checkbox | file
    name: str
    value: str = ""

    @property
    def selector(self) -> str:
        if self.kind in ("radio", "checkbox"):
            return f'input[name="{self.name}"][value="{self.value}"]'
        return f'[name="{self.name}"]'


def _grid(code: str, pick) -> list[Field]:
    """One radio per row of a grid; ``pick(index, columns)`` chooses the column."""
    question = QUESTIONS[code]
    columns = [column["code"] for column in question["columns"]]
    return [Field("radio", f"{code}__{row['code']}", pick(index, columns)) for index, row in enumerate(question["rows"])]


def complete_answers(structure: str, siret: str, email: str, commune: str = "Chambéry", caf_name: str = "Caf de la Savoie",
                     caf_number: str = "731", place: str = "Maison de quartier", bilan: str = BILAN) -> list[list[Field]]:
    """Every question of every page, in the order of the page (so of the Tab key)."""
    return [
        [Field("text", "nom_structure", structure), Field("radio", "statut_structure", "autre"),
         Field("text", "statut_structure_autre", "Fondation reconnue d'utilité publique"),
         Field("text", "caf_nom", caf_name), Field("text", "caf_numero", caf_number), Field("text", "email", email),
         Field("text", "siret", siret), Field("text", "siren", siret[:9])],
        [Field("text", "lieu_action", place), Field("text", "commune", commune), Field("text", "code_postal", "73000"),
         Field("text", "code_insee", "73065"), Field("text", "numero_voie", "12"), Field("text", "voie", "rue de la Gare")],
        [Field("radio", "qpv", "oui"), Field("checkbox", "tranches_age", "primaire"), Field("checkbox", "tranches_age", "college")],
        _grid("situations_enfants", lambda i, columns: columns[i % len(columns)]),
        _grid("types_activites", lambda i, columns: columns[(i + 1) % len(columns)]),
        [Field("radio", "contractualisation", "non"), *_grid("actions_parents", lambda i, columns: columns[i % 2])],
        _grid("origine_inscription", lambda i, columns: columns[-1 - i % len(columns)]),
        [Field("radio", "formation_coordinateur", "oui"), Field("radio", "formation_animateurs", "non"),
         Field("text", "bilan_qualitatif", bilan), Field("file", "document")],
    ]


NEXT = "Enregistrer et passer à l’étape suivante"
TO_SUMMARY = "Enregistrer et voir le récapitulatif"


def save_button(page, number: int):
    return page.get_by_role("button", name=NEXT if number < PAGE_COUNT else TO_SUMMARY, exact=True)


def assert_no_errors(page):
    summary = page.locator(".error-summary")
    assert summary.count() == 0, f"{page.url} shows errors:\n{summary.first.inner_text()}"


def fill_with_mouse(page, pages: list[list[Field]], pdf) -> None:
    """From step 1, answer every page with clicks and ``fill`` and reach the summary."""
    for number, fields in enumerate(pages, 1):
        assert page.url.endswith(f"/bilan/page/{number}"), page.url
        for field in fields:
            target = page.locator(field.selector)
            if field.kind == "text":
                target.fill(field.value)
            elif field.kind == "file":
                target.set_input_files(pdf)
            else:
                target.check()
        with page.expect_navigation():
            save_button(page, number).click()
        assert_no_errors(page)
    page.wait_for_url("**/bilan/recapitulatif")


def transmit_with_mouse(page) -> str:
    """From a complete summary: transmit, and return the receipt's reference."""
    assert_no_errors(page)
    page.get_by_label("Je certifie l’exactitude des informations transmises").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Transmettre à la Caf").click()
    assert page.url.endswith("/bilan/accuse-de-reception"), page.url
    return RECEIPT.search(page.locator(".reference").inner_text()).group(0)


def answer_and_transmit(page, link: str, pages: list[list[Field]], pdf) -> str:
    """A partner who opens the link, answers everything, transmits; returns the receipt's reference."""
    page.goto(link)
    page.get_by_role("link", name="Commencer le questionnaire").click()
    fill_with_mouse(page, pages, pdf)
    return transmit_with_mouse(page)
