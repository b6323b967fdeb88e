"""Administrators see a definition page by page before any campaign uses it; nothing is stored."""
import html
import io
import json
import re

from sqlalchemy import func, select

from survey.blueprints import preview
from survey.models import Campaign
from tests.conftest import TESTS

SEJOURS_TEXT = (TESTS / "definitions" / "sejours-2025.json").read_text(encoding="utf-8")


def body(response):
    return html.unescape(response.get_data(as_text=True))


def upload(admin, content: bytes, name="essai.json"):
    admin.get("/admin/apercu/")
    return admin.post("/admin/apercu/", data={"fichier": (io.BytesIO(content), name)},
                      content_type="multipart/form-data")


def campaigns(db) -> int:
    return db.scalar(select(func.count()).select_from(Campaign))


def test_a_bundled_definition_is_shown_page_by_page_with_its_check(caf_user):
    admin = caf_user("admin", None)
    index = body(admin.get("/admin/apercu/"))
    assert 'href="/admin/apercu/clas-2023-2024/page/1"' in index
    page = body(admin.get("/admin/apercu/clas-2023-2024/page/3"))
    assert "Étape 3 sur 8" in page
    assert "Aucune erreur : clas-2023-2024 version" in page
    assert 'name="qpv"' in page and 'type="radio"' in page
    assert admin.get("/admin/apercu/clas-2023-2024/page/99").status_code == 404
    assert admin.get("/admin/apercu/inconnu/page/1").status_code == 404


def test_an_uploaded_definition_is_checked_shown_and_never_stored(caf_user, db):
    admin = caf_user("admin", None)
    before = campaigns(db)
    shown = upload(admin, SEJOURS_TEXT.encode(), "sejours-2025.json")
    assert shown.status_code == 200
    page = body(shown)
    assert "Vérification de sejours-2025.json" in page and "Aucune erreur : sejours-2025 version 1, 3 étapes, 17 questions." in page
    assert "Étape 1 sur 3 : Le séjour" in page
    assert 'autocomplete="organization"' in page and '<span class="unit" aria-hidden="true">€</span>' in page
    carried = re.search(r'name="apercu__definition" value="([^"]*)"', shown.get_data(as_text=True))
    second = admin.post("/admin/apercu/", data={"apercu__definition": html.unescape(carried.group(1)),
                                                "apercu__source": "sejours-2025.json", "apercu__page": "2",
                                                "nuits": "3"}, from_page=None)
    assert second.status_code == 200
    second_page = body(second)
    assert "Étape 2 sur 3 : L’hébergement" in second_page
    assert "Étape posée seulement si vous avez répondu « Séjour avec nuitées » à la question « Formule du séjour »." in second_page
    assert re.search(r'name="nuits"\s+value=""', second_page), "what was typed in the preview is not kept"
    assert campaigns(db) == before


def test_every_error_of_an_uploaded_definition_is_listed_at_its_json_path(caf_user, db):
    admin = caf_user("admin", None)
    broken = json.loads(SEJOURS_TEXT)
    broken["pages"][0]["questions"][6]["min"] = 1000            # participants: min above max
    broken["pages"][2]["questions"][1]["show_if"] = {"question": "recit", "any_of": ["x"]}  # a later question
    broken["pages"][1]["show_if"] = {"question": "nuits", "gt": 1}  # the page's own question
    shown = upload(admin, json.dumps(broken).encode())
    assert shown.status_code == 422
    page = body(shown)
    assert "3 erreurs : la définition ne peut pas servir à une campagne." in page
    assert "pages[0].questions[6] (code=participants).min: min dépasse max" in page
    assert "pages[1].show_if.question: show_if désigne 'nuits'" in page
    assert "pages[2].questions[1] (code=accessibilite).show_if.question: show_if désigne 'recit'" in page
    assert campaigns(db) == 0


def test_a_file_that_is_not_json_or_too_big_is_refused_in_french(caf_user, monkeypatch):
    admin = caf_user("admin", None)
    shown = upload(admin, b'{"code": "x",\n  "pages": [}')
    assert shown.status_code == 422
    assert "JSON invalide, ligne 2 colonne" in body(shown)
    assert "n’est pas un texte UTF-8" in body(upload(admin, b"\xff\xfe{"))
    assert "Choisissez un fichier JSON de définition." in body(admin.post("/admin/apercu/", data={}, from_page="/admin/apercu/"))
    # (a file over the application's request limit is refused before the view, as every upload)
    monkeypatch.setattr(preview, "MAX_DEFINITION_BYTES", 100)
    too_big = upload(admin, b" " * 101)
    assert too_big.status_code == 400 and "dépasse 1 Mo" in body(too_big)


def test_reviewers_do_not_see_the_preview(caf_user):
    reviewer = caf_user("reviewer", "731")
    assert reviewer.get("/admin/apercu/").status_code == 404
    assert reviewer.get("/admin/apercu/clas-2023-2024/page/1").status_code == 404
