"""Journey 3: a reviewer downloads the CSV export through the browser and opens it as Excel would."""
import csv
import io

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_reviewer_downloads_the_csv_export_for_french_excel(site, transmitted, page):
    sign_in(page, site, site.reviewer)
    page.get_by_role("link", name="Clas 2023-2024 : bilan qualitatif", exact=True).click()
    page.get_by_text("Exporter les réponses de votre Caf").click()
    page.get_by_label("Intitulés en français, puis une deuxième ligne avec les codes").check()
    with page.expect_download() as started:
        page.get_by_role("button", name="Télécharger le CSV").click()
    download = started.value
    assert download.failure() is None
    assert download.suggested_filename.endswith("-caf-731.csv")

    data = download.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte order mark: Excel would misread the accents"
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    wording, codes, rest = text.split("\r\n", 2)
    assert wording.startswith("Référence du projet;Numéro de la Caf;Caf;")
    assert codes.startswith("reference;") and codes.count(";") == wording.count(";") > 30

    rows = {row["reference"]: row for row in csv.DictReader(io.StringIO(codes + "\r\n" + rest, newline=""), delimiter=";")}
    assert "CLAS-74-001" not in rows, "the export holds a project of another Caf"
    row = rows[transmitted.reference]
    assert row["structure"] == "Amicale laïque de Bissy"
    assert row["lieu_action"] == transmitted.place
    assert row["statut_structure_autre"] == "Fondation reconnue d'utilité publique"
    assert row["transmis_le"], "the transmission date is missing"
