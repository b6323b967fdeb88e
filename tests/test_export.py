"""Exports read back: CSV as French Excel reads it, XLSX with openpyxl, the codebook, the ZIP."""
import csv
import io
import zipfile

import openpyxl
import pytest

from survey.reports import xlsx
from survey.reports.export import neutralise
from tests.conftest import complete_clas_answers
from tests.spreadsheet import calc_sheets

PDF = b"%PDF-1.4 bilan"


@pytest.fixture
def campaign_with_answers(factory, partner_for):
    """Three Savoie projects (transmitted, started, untouched) and one Haute-Savoie project."""
    campaign = factory.campaign()
    done, (token,) = factory.project(campaign, reference="SAV-1")
    partner = partner_for(token)
    pages = complete_clas_answers()
    pages[2]["lieu_action"] = "=HYPERLINK(\"http://evil.example\")"
    pages[8]["document"] = (io.BytesIO(PDF), "bilan.pdf")
    for number, data in pages.items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    started, (token2,) = factory.project(campaign, reference="SAV-2")
    partner_for(token2).save_page(3, {"qpv": "non", "tranches_age": ["lycee"]})
    factory.project(campaign, reference="SAV-3")
    other, (token4,) = factory.project(campaign, reference="HSA-1", caf_number="741", caf_name="Caf de la Haute-Savoie")
    partner_for(token4).save_page(2, {"lieu_action": "Cluses"})
    return campaign


def read_csv(response, separator=";"):
    raw = response.data
    assert raw.startswith("\ufeff".encode()), "UTF-8 with BOM"
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))


def by_reference(rows):
    header = rows[0]
    return header, {row[0]: dict(zip(header, row)) for row in rows[1:]}


def test_the_csv_opens_in_french_excel_with_one_row_per_project(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    header, rows = by_reference(read_csv(answer))
    assert set(rows) == {"SAV-1", "SAV-2", "SAV-3"}
    assert header[:8] == ["reference", "caf", "caf_nom", "structure", "etat", "commence_le", "transmis_le", "valide_le"]
    done = rows["SAV-1"]
    assert done["etat"] == "transmis" and done["transmis_le"] == "2024-07-01 10:00"
    assert done["statut_structure"] == "Autre" and done["statut_structure_autre"] == "Fondation"
    assert done["siret"] == "77567227200017" and done["code_insee"] == "73065"
    assert done["tranches_age.primaire"] == "Oui" and done["tranches_age.lycee"] == "Non"
    assert done["situations_enfants.difficultes_scolaires"] == "Quasiment tous"
    assert done["actions_parents.codes_ecole"] == "Oui"
    assert done["document"] == "bilan.pdf"
    assert done["lieu_action"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows["SAV-2"]["etat"] == "en cours" and rows["SAV-2"]["qpv"] == "Non" and rows["SAV-2"]["tranches_age.lycee"] == "Oui"
    assert rows["SAV-2"]["tranches_age.primaire"] == "Non"
    assert rows["SAV-3"]["etat"] == "non commencé" and rows["SAV-3"]["tranches_age.primaire"] == ""
    assert rows["SAV-3"]["nom_structure"] == rows["SAV-3"]["structure"]  # prefilled from the import


def test_csv_options_codes_comma_and_wording_row(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?sep=virgule&valeurs=codes&libelles=1")
    rows = read_csv(answer, ",")
    assert rows[1][0] == "Référence du projet"
    wording = dict(zip(rows[0], rows[1]))
    assert wording["situations_enfants.difficultes_scolaires"].startswith("Les enfants/jeunes qui participent")
    header, by_ref = by_reference([rows[0], *rows[2:]])
    done = by_ref["SAV-1"]
    assert done["statut_structure"] == "autre" and done["etat"] == "submitted"
    assert done["tranches_age.primaire"] == "1" and done["tranches_age.lycee"] == "0"
    assert done["situations_enfants.difficultes_scolaires"] == "quasi_tous"


def test_exports_are_scoped_to_the_reviewers_caf_and_admins_choose(campaign_with_answers, caf_user):
    other = caf_user("reviewer", "741")
    _, rows = by_reference(read_csv(other.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=731")))
    assert set(rows) == {"HSA-1"}
    admin = caf_user("admin", None)
    _, everything = by_reference(read_csv(admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv")))
    assert set(everything) == {"SAV-1", "SAV-2", "SAV-3", "HSA-1"}
    _, one = by_reference(read_csv(admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=741")))
    assert set(one) == {"HSA-1"}
    assert admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=999").status_code == 404


def test_the_xlsx_holds_the_same_content_and_a_codebook(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    csv_rows = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv"))
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["Réponses", "Dictionnaire"]
    sheet = book["Réponses"]
    assert sheet.freeze_panes == "B2", "the header row and the project reference stay in view"
    values = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == csv_rows[0]
    xlsx_rows = {row[0]: dict(zip(values[0], row)) for row in values[1:]}
    assert xlsx_rows["SAV-1"]["situations_enfants.difficultes_scolaires"] == "Quasiment tous"
    formula_cell = next(c for c in sheet[2 + sorted(xlsx_rows).index("SAV-1")] if c.value and str(c.value).startswith("="))
    assert formula_cell.data_type == "s", "a formula-looking answer is stored as text"
    codebook = list(book["Dictionnaire"].iter_rows(values_only=True))
    entries = {row[0]: row for row in codebook[1:]}
    assert entries["statut_structure"][5] == "associatif = Associatif | public = Public | autre = Autre"
    assert entries["situations_enfants.langue_parents"][1] == "situations_enfants"
    assert set(entries) == set(csv_rows[0])


def test_libreoffice_calc_reads_the_xlsx_export_as_openpyxl_does(campaign_with_answers, caf_user, tmp_path):
    admin = caf_user("admin")
    data = admin.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx?libelles=1").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book["Réponses"].freeze_panes == "B3", "both header rows stay in view"
    by_openpyxl = {name: [["" if value is None else str(value) for value in row]
                          for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    by_calc = calc_sheets(data, tmp_path)
    assert by_calc == by_openpyxl
    assert len(by_calc["Réponses"]) == 2 + 4, "two header rows (codes, wording) and the four projects"
    assert any(cell.startswith("=HYPERLINK") for cell in sum(by_calc["Réponses"], [])), "kept as text, not run"


def test_an_xlsx_too_big_for_excel_sends_back_to_the_list_with_a_message(campaign_with_answers, caf_user,
                                                                         monkeypatch):
    monkeypatch.setattr(xlsx, "SHEET_MAX_BYTES", 2_000)  # stands for the 2 GiB a sheet may hold
    admin = caf_user("admin")
    answer = admin.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx")
    assert answer.status_code == 302 and answer.location.endswith(f"/caf/campagnes/{campaign_with_answers}")
    page = admin.get(answer.location).get_data(as_text=True)
    assert 'role="alert"' in page and "téléchargez le CSV, ou exportez Caf par Caf." in page
    reviewer = caf_user("reviewer", "731")
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx")
    page = reviewer.get(answer.location).get_data(as_text=True)
    assert "téléchargez le CSV." in page, "a reviewer exports one Caf already"
    monkeypatch.setattr(xlsx, "SHEET_MAX_BYTES", 2**30)
    assert admin.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx").status_code == 200


def test_the_codebook_csv_lists_every_column(campaign_with_answers, caf_user):
    reviewer = caf_user()
    rows = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/dictionnaire.csv"))
    csv_header = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv"))[0]
    assert [row[0] for row in rows[1:]] == csv_header


def test_the_attachments_zip_is_named_by_reference(campaign_with_answers, caf_user):
    reviewer = caf_user()
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/documents.zip")
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        assert archive.namelist() == ["SAV-1.pdf"]
        assert archive.read("SAV-1.pdf") == PDF
    other = caf_user("reviewer", "741")
    with zipfile.ZipFile(io.BytesIO(other.get(f"/caf/campagnes/{campaign_with_answers}/documents.zip").data)) as archive:
        assert archive.namelist() == []


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+33 6", "'+33 6"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Bonjour", "Bonjour"), ("", ""), (3, 3), ("a=b", "a=b"),
])
def test_formula_neutralisation(value, expected):
    assert neutralise(value) == expected
