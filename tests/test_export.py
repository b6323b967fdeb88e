"""Exports read back: CSV as French Excel reads it, XLSX with openpyxl, the codebook, the ZIP."""
import csv
import io
import zipfile
from datetime import UTC, datetime

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
    return header, {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


def test_the_csv_opens_in_french_excel_with_one_row_per_project(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes=codes")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    header, rows = by_reference(read_csv(answer))
    assert set(rows) == {"SAV-1", "SAV-2", "SAV-3"}
    assert header[:8] == ["reference", "caf", "caf_nom", "structure", "etat", "commence_le", "transmis_le", "valide_le"]
    done = rows["SAV-1"]
    assert done["etat"] == "transmis" and done["transmis_le"] == "01/07/2024 10:00"  # Paris time, read by French Excel
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
    # The Caf asked again by the questionnaire (prefilled from the record): one column per fact, the record's.
    assert {"caf_nom_2", "caf_numero"}.isdisjoint(header)
    assert len(set(header)) == len(header)


def test_csv_options_codes_comma_and_wording_row(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?sep=virgule&valeurs=codes&entetes=libelles_codes")
    rows = read_csv(answer, ",")
    assert rows[0][0] == "Référence du projet" and rows[1][0] == "reference"
    wording = dict(zip(rows[1], rows[0], strict=True))
    assert wording["situations_enfants.difficultes_scolaires"].startswith("Les enfants/jeunes qui participent")
    header, by_ref = by_reference(rows[1:])
    done = by_ref["SAV-1"]
    assert done["statut_structure"] == "autre" and done["etat"] == "submitted"
    assert done["transmis_le"] == "2024-07-01 10:00", "with commas, the ISO form"
    assert done["tranches_age.primaire"] == "1" and done["tranches_age.lycee"] == "0"
    assert done["situations_enfants.difficultes_scolaires"] == "quasi_tous"


def test_exports_are_scoped_to_the_reviewers_caf_and_admins_choose(campaign_with_answers, caf_user):
    other = caf_user("reviewer", "741")
    _, rows = by_reference(read_csv(other.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=731&entetes=codes")))
    assert set(rows) == {"HSA-1"}
    admin = caf_user("admin", None)
    _, everything = by_reference(read_csv(admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes=codes")))
    assert set(everything) == {"SAV-1", "SAV-2", "SAV-3", "HSA-1"}
    _, one = by_reference(read_csv(admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=741&entetes=codes")))
    assert set(one) == {"HSA-1"}
    assert admin.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?caf=999").status_code == 404


def test_the_xlsx_holds_the_same_content_and_a_codebook(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    csv_rows = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes=codes"))
    answer = reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx?entetes=codes")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["Réponses", "Dictionnaire"]
    sheet = book["Réponses"]
    assert sheet.freeze_panes == "B2", "the header row and the project reference stay in view"
    values = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == csv_rows[0]
    xlsx_rows = {row[0]: dict(zip(values[0], row, strict=True)) for row in values[1:]}
    assert xlsx_rows["SAV-1"]["situations_enfants.difficultes_scolaires"] == "Quasiment tous"
    formula_cell = next(c for c in sheet[2 + sorted(xlsx_rows).index("SAV-1")] if c.value and str(c.value).startswith("="))
    assert formula_cell.data_type == "s", "a formula-looking answer is stored as text"
    codebook = list(book["Dictionnaire"].iter_rows(values_only=True))
    entries = {row[0]: row for row in codebook[1:]}
    assert entries["statut_structure"][5] == "associatif = Associatif | public = Public | autre = Autre"
    assert entries["situations_enfants.langue_parents"][1] == "situations_enfants"
    assert [row[0] for row in codebook[1:]] == csv_rows[0]


def test_the_default_header_is_the_french_wording_and_names_each_column_once(campaign_with_answers, caf_user):
    reviewer = caf_user("reviewer", "731")
    rows = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv"))
    codes = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes=codes"))[0]
    wording = rows[0]
    assert wording[:4] == ["Référence du projet", "Numéro de la Caf", "Caf", "Structure (fiche du projet)"]
    assert "Statut de la structure – Si « Autre », précisez" in wording
    assert len(wording) == len(codes) == len(rows[1]) and len(rows) == 1 + 3, "one header row, then the projects"
    assert len(set(wording)) == len(wording) and len(set(codes)) == len(codes)
    assert wording.count("Caf") == 1 and codes.count("caf_nom") == 1
    # The codes stay in the codebook, in the same order as the wording.
    codebook = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/dictionnaire.csv"))
    assert [(row[0], row[2]) for row in codebook[1:]] == list(zip(codes, wording, strict=True))
    by_column = {row[0]: row for row in codebook[1:]}
    assert by_column["caf_nom"][1:5] == ["caf_nom", "Caf", "", "fiche du projet"], "the question it stands for"
    assert by_column["transmis_le"][5].startswith("date et heure (jj/mm/aaaa hh:mm), à l’heure de la Caf")
    assert "correction_requested = correction demandée" in by_column["etat"][5]
    assert by_column["structure"][1] == "" and by_column["caf"][1] == "caf_numero"
    assert by_column["statut_structure"][4] == "choix unique"
    assert by_column["tranches_age.primaire"][4] == "choix multiple"
    assert by_column["situations_enfants.langue_parents"][4] == "grille"
    assert by_column["siret"][4] == "numéro Siret" and by_column["document"][4] == "document joint"
    assert not {row[4] for row in codebook[1:]} & {"single_choice", "multiple_choice", "matrix", "yes_no", "long_text"}


def test_headers_stay_distinct_when_a_question_takes_a_fixed_code_or_two_share_a_wording(app):
    from survey.engine.definition import build_definition
    from survey.reports.export import columns
    definition = build_definition({"code": "mini", "version": 1, "title": "Mini", "pages": [{
        "code": "p", "title": "Page", "questions": [
            {"code": "etat", "kind": "text", "label": "État du bilan"},
            {"code": "precision_a", "kind": "text", "label": "Précisez"},
            {"code": "precision_b", "kind": "text", "label": "Précisez"}]}]})
    heads = columns(definition)
    assert [(head.code, head.wording) for head in heads[-3:]] == [
        ("etat_2", "État du bilan (etat_2)"), ("precision_a", "Précisez"), ("precision_b", "Précisez (precision_b)")]
    assert len({head.code for head in heads}) == len({head.wording for head in heads}) == len(heads)


def test_the_xlsx_holds_dates_as_dates_in_the_cafs_time_and_numbers_as_numbers(
        factory, partner_for, caf_user, clock, db):
    """Timestamps are Excel dates of the Caf's own clock (Cayenne is UTC-3), counts are numbers;
    the validation, its author and the correction rounds are there, with readable widths and a bold header."""
    from survey.models import Response
    campaign = factory.campaign()
    clock.set(datetime(2024, 7, 1, 2, 30, tzinfo=UTC))
    response_id, (token,) = factory.project(campaign, reference="GUY-1", caf_number="973", caf_name="Caf de la Guyane",
                                            timezone="America/Cayenne")
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    clock.set(datetime(2024, 7, 2, 14, 0, tzinfo=UTC))
    assert partner.transmit().status_code == 302
    reviewer = caf_user("reviewer", "973")
    page = f"/caf/reponses/{response_id}"
    assert reviewer.post(f"{page}/correction", {"questions": ["lieu_action"], "message-lieu_action": "Précisez.",
                                                "until": "2024-07-31"}, from_page=page).status_code == 302
    partner.get("/bilan/page/2")
    clock.set(datetime(2024, 7, 3, 12, 0, tzinfo=UTC))
    assert partner.transmit().status_code == 302
    clock.set(datetime(2024, 7, 5, 1, 15, tzinfo=UTC))
    assert reviewer.post(f"{page}/validation", from_page=page).status_code == 302
    db.expire_all()
    assert db.get(Response, response_id).validated_at is not None

    book = openpyxl.load_workbook(io.BytesIO(reviewer.get(f"/caf/campagnes/{campaign}/export.xlsx").data))
    sheet = book["Réponses"]
    cells = {head.value: cell for head, cell in zip(sheet[1], sheet[2], strict=True)}
    assert cells["Commencé le"].value == datetime(2024, 6, 30, 23, 30) and cells["Commencé le"].is_date
    assert cells["Commencé le"].number_format == "dd/mm/yyyy hh:mm"
    assert cells["Transmis le"].value == datetime(2024, 7, 3, 9, 0), "the latest transmission, Cayenne time"
    assert cells["Validé le"].value == datetime(2024, 7, 4, 22, 15) and cells["Validé le"].is_date
    assert cells["Validé par"].value == "reviewer-973@caf.example"
    assert cells["Demandes de correction"].value == 1 and cells["Demandes de correction"].data_type == "n"
    assert cells["Numéro de la Caf"].value == "973" and cells["Numéro de la Caf"].data_type == "s"
    assert sheet[1][0].font.b and sheet[1][0].alignment.wrap_text, "the header is bold and wrapped"
    assert sheet[2][0].font.b is False
    widths = {head.value: sheet.column_dimensions[head.column_letter].width for head in sheet[1]}
    assert widths["Référence du projet"] == 16 and widths["Structure (fiche du projet)"] == 30
    assert widths["Bilan qualitatif de l’action"] == 60, "a long text gets room"
    assert widths["Numéro de Siret"] == 16
    codebook = book["Dictionnaire"]
    assert codebook["C1"].font.b and codebook.column_dimensions["C"].width == 60


def test_libreoffice_calc_reads_the_xlsx_export_as_openpyxl_does(campaign_with_answers, caf_user, tmp_path):
    admin = caf_user("admin")
    data = admin.get(f"/caf/campagnes/{campaign_with_answers}/export.xlsx?entetes=libelles_codes").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book["Réponses"].freeze_panes == "B3", "both header rows stay in view"
    # Calc writes a date cell as its (here American) locale shows dates: a text would come out as stored.
    by_openpyxl = {name: [["" if value is None else f"{value:%m/%d/%Y %H:%M:%S}" if isinstance(value, datetime)
                           else str(value) for value in row]
                          for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    by_calc = calc_sheets(data, tmp_path)
    assert by_calc == by_openpyxl
    assert "07/01/2024 10:00:00" in by_calc["Réponses"][2], "a moment is a date and time in Calc too"
    assert len(by_calc["Réponses"]) == 2 + 4, "two header rows (wording, codes) and the four projects"
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
    csv_header = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes=codes"))[0]
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


@pytest.mark.parametrize("choice", ["", "inconnu", "<script>", "CODES", "codes%20"])
def test_an_unknown_header_choice_gives_the_french_wording(campaign_with_answers, caf_user, choice):
    reviewer = caf_user("reviewer", "731")
    rows = read_csv(reviewer.get(f"/caf/campagnes/{campaign_with_answers}/export.csv?entetes={choice}"))
    assert rows[0][0] == "Référence du projet" and rows[1][0] != "reference"
