"""The streaming XLSX writer, read back by openpyxl and by LibreOffice Calc."""
import io
import zipfile
from datetime import UTC
from xml.etree import ElementTree

import openpyxl
import pytest

from survey.reports import xlsx

from .spreadsheet import calc_sheets

WRITTEN = [
    ["texte", "nombre", "vide", "autre"],
    ["=1+1", 42, None, "=HYPERLINK(\"http://evil.example\")"],
    ["+33 6 12 34 56 78", 2.5, "", "@SUM(A1)"],
    ["  espaces devant", -7, None, "fin de ligne\n"],
    ["deux\nlignes", 0, None, 'a & b < c > d "guillemets"'],
    ["contrôle\x01\x0b retiré", 10**12, None, "émoji 🎉 et U+FFFE \ufffe retiré"],
    ["_x0041_ reste tel quel", -0.125, "\x01\x02", "\x01 espace gardé"],
    ["Word :\r\nparagraphe", 1, None, "retour\rchariot seul"],
]
# What a reader must find: texts stay texts (never formulas), numbers are numbers,
# empty cells are empty, what XML cannot carry is dropped.
READ = [
    ["texte", "nombre", "vide", "autre"],
    ["=1+1", 42, None, "=HYPERLINK(\"http://evil.example\")"],
    ["+33 6 12 34 56 78", 2.5, None, "@SUM(A1)"],
    ["  espaces devant", -7, None, "fin de ligne\n"],
    ["deux\nlignes", 0, None, 'a & b < c > d "guillemets"'],
    ["contrôle retiré", 10**12, None, "émoji 🎉 et U+FFFE  retiré"],
    ["_x0041_ reste tel quel", -0.125, None, " espace gardé"],
    ["Word :\r\nparagraphe", 1, None, "retour\rchariot seul"],  # carriage returns kept, as in the CSV
]
PACKAGE_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
CODEBOOK = [["colonne", "libellé"], ["texte", "Une réponse libre"]]


def written(sheets) -> bytes:
    target = io.BytesIO()
    xlsx.write_workbook(target, sheets)
    return target.getvalue()


def test_openpyxl_reads_back_every_kind_of_cell():
    book = openpyxl.load_workbook(io.BytesIO(written(iter([("Réponses", iter(WRITTEN)), ("Dictionnaire", CODEBOOK)]))))
    assert book.sheetnames == ["Réponses", "Dictionnaire"]
    sheet = book["Réponses"]
    # openpyxl does not decode Excel's "_x005F_" escape (Excel and Calc do: see the Calc test).
    read = [[value.replace("_x005F_", "_") if isinstance(value, str) else value for value in row]
            for row in sheet.iter_rows(values_only=True)]
    assert read == READ
    formula_like = [sheet["A2"], sheet["D2"], sheet["A3"], sheet["D3"]]
    assert [cell.data_type for cell in formula_like] == ["s"] * 4, "formula-looking texts are stored as texts"
    assert [sheet["B2"].data_type, sheet["B3"].data_type] == ["n", "n"]
    assert [list(row) for row in book["Dictionnaire"].iter_rows(values_only=True)] == CODEBOOK


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_text_longer_than_excel_allows_is_cut_and_says_so():
    at_limit = "🎉" + "x" * (xlsx.EXCEL_MAX_TEXT - 2)  # an emoji counts as two UTF-16 units in Excel
    rows = [["x" * 40_000, "court", "🎉" * 20_000, at_limit, at_limit + "x"]]
    book = openpyxl.load_workbook(io.BytesIO(written([("Réponses", rows)])))
    long_text, short_text, emojis, kept, one_too_many = next(book["Réponses"].iter_rows(values_only=True))
    assert short_text == "court" and kept == at_limit
    for cut in (long_text, emojis, one_too_many):
        assert utf16_units(cut) <= xlsx.EXCEL_MAX_TEXT and cut.endswith(xlsx.CUT_MARK)
    assert long_text.startswith("x" * 30_000) and emojis.startswith("🎉" * 16_000)
    assert "\ufffd" not in emojis, "never half an emoji"


@pytest.mark.parametrize("sheets, message", [
    ([("", [["a"]])], "nom de feuille"),
    ([("a/b", [["a"]])], "nom de feuille"),
    ([("feuille[1]", [["a"]])], "nom de feuille"),
    ([("x" * 32, [["a"]])], "nom de feuille"),
    ([("'cité'", [["a"]])], "nom de feuille"),
    ([("History", [["a"]])], "nom de feuille"),
    ([("Réponses", [["a"]]), ("RÉPONSES", [["b"]])], "même nom"),
    ([], "au moins une feuille"),
])
def test_a_workbook_excel_would_refuse_writes_nothing(sheets, message):
    target = io.BytesIO()
    with pytest.raises(ValueError, match=message):
        xlsx.write_workbook(target, sheets)
    assert target.getvalue() == b""


def test_rows_past_what_a_sheet_can_hold_stop_the_export(monkeypatch):
    monkeypatch.setattr(xlsx, "SHEET_MAX_BYTES", 5_000)
    with pytest.raises(xlsx.TooLargeForExcel):
        written([("Réponses", ([f"ligne {n}", n] for n in range(1_000)))])
    assert len(written([("Réponses", ([f"ligne {n}", n] for n in range(10)))])) > 0


def test_every_part_is_well_formed_xml_declared_and_linked():
    with zipfile.ZipFile(io.BytesIO(written([("Réponses", WRITTEN), ("Dictionnaire", CODEBOOK)]))) as archive:
        parts = {name: ElementTree.fromstring(archive.read(name)) for name in archive.namelist()}
    types = parts["[Content_Types].xml"]
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{{{PACKAGE_TYPES}}}Override")}
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{{{PACKAGE_TYPES}}}Default")}
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    assert overrides == {
        "/xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "/xl/styles.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml",
        "/xl/worksheets/sheet1.xml": sheet_type, "/xl/worksheets/sheet2.xml": sheet_type,
    }
    assert defaults["rels"] == "application/vnd.openxmlformats-package.relationships+xml"
    for rels, folder in (("_rels/.rels", ""), ("xl/_rels/workbook.xml.rels", "xl/")):
        for relationship in parts[rels]:
            assert folder + relationship.get("Target") in parts, f"{rels} points to a missing part"
    workbook_ids = {r.get("Id") for r in parts["xl/_rels/workbook.xml.rels"]}
    sheets = parts["xl/workbook.xml"].find(f"{{{xlsx.MAIN}}}sheets")
    assert [s.get("name") for s in sheets] == ["Réponses", "Dictionnaire"]
    assert {s.get(f"{{{xlsx.RELATIONSHIPS}}}id") for s in sheets} <= workbook_ids


def test_each_kind_of_value_gets_its_cell_type():
    row = ["  devant", "derrière ", "milieu ici", True, float("nan"), float("inf"), "a\ud800b", "\x01\x02", 3]
    with zipfile.ZipFile(io.BytesIO(written([("S", [row])]))) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A1" t="inlineStr"><is><t xml:space="preserve">  devant</t></is></c>' in sheet
    assert '<c r="B1" t="inlineStr"><is><t xml:space="preserve">derrière </t></is></c>' in sheet
    assert '<c r="C1" t="inlineStr"><is><t>milieu ici</t></is></c>' in sheet
    assert '<c r="D1" t="b"><v>1</v></c>' in sheet
    assert '<c r="E1" t="inlineStr"><is><t>nan</t></is></c>' in sheet, "never a number Excel cannot read"
    assert '<c r="F1" t="inlineStr"><is><t>inf</t></is></c>' in sheet
    assert '<c r="G1" t="inlineStr"><is><t>ab</t></is></c>' in sheet
    assert 'r="H1"' not in sheet, "nothing left to write: no cell"
    assert '<c r="I1"><v>3</v></c>' in sheet


def test_column_letters_go_past_z():
    assert [xlsx.column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_libreoffice_calc_reads_what_was_written(tmp_path):
    sheets = calc_sheets(written([("Réponses", WRITTEN), ("Dictionnaire", CODEBOOK)]), tmp_path)
    assert sorted(sheets) == ["Dictionnaire", "Réponses"]
    # Calc itself keeps a lone CR but stores CR LF as one line break.
    expected = [["" if value is None else str(value).replace("\r\n", "\n") for value in row] for row in READ]
    assert sheets["Réponses"] == expected
    assert sheets["Dictionnaire"] == CODEBOOK


def test_the_sheets_are_compressed_and_dated():
    with zipfile.ZipFile(io.BytesIO(written([("Réponses", [["même texte"]] * 2000)]))) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.compress_type == zipfile.ZIP_DEFLATED and sheet.compress_size < sheet.file_size / 10
        assert sheet.date_time[0] >= 2024
        assert archive.testzip() is None


@pytest.mark.parametrize("rows, columns, top_left", [(1, 0, "A2"), (2, 1, "B3"), (0, 1, "B1")])
def test_header_rows_and_first_columns_stay_in_view(rows, columns, top_left):
    sheet = xlsx.Sheet("Réponses", WRITTEN, frozen_rows=rows, frozen_columns=columns)
    book = openpyxl.load_workbook(io.BytesIO(written([sheet, ("Dictionnaire", CODEBOOK)])))
    assert book["Réponses"].freeze_panes == top_left
    assert book["Dictionnaire"].freeze_panes is None


def test_a_date_is_a_date_cell_openpyxl_and_calc_read_as_that_day(tmp_path):
    from datetime import date, datetime
    data = written([("Dates", [["jour"], [date(2024, 7, 15)], [date(2000, 2, 29)], [date(1900, 3, 1)]])])
    rows = list(openpyxl.load_workbook(io.BytesIO(data), read_only=True)["Dates"].iter_rows(values_only=True))
    assert rows[1:] == [(datetime(2024, 7, 15),), (datetime(2000, 2, 29),), (datetime(1900, 3, 1),)]
    assert openpyxl.load_workbook(io.BytesIO(data))["Dates"]["A2"].is_date
    sheets = calc_sheets(data, tmp_path)
    # Calc writes a date cell in its locale's short format (here en-US, 07/15/2024): the day is kept.
    assert [row[0] for row in sheets["Dates"][1:]] in (
        ["07/15/2024", "02/29/2000", "03/01/1900"], ["15/07/2024", "29/02/2000", "01/03/1900"])


def test_a_moment_is_a_date_and_time_cell_to_the_minute(tmp_path):
    from datetime import datetime
    moments = [datetime(2024, 7, 15, 23, 59), datetime(2024, 1, 1, 0, 0), datetime(2025, 3, 30, 2, 30, 45)]
    data = written([("Moments", [["quand"], *([moment] for moment in moments)])])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Moments"]
    assert [sheet[f"A{n}"].value for n in (2, 3, 4)] == moments, "no drift from the serial's floating point"
    assert all(sheet[f"A{n}"].is_date and sheet[f"A{n}"].number_format == "dd/mm/yyyy hh:mm" for n in (2, 3, 4))
    rows = calc_sheets(data, tmp_path)["Moments"]
    assert rows[1][0] in ("07/15/2024 23:59:00", "15/07/2024 23:59:00"), "Calc reads a date and time too"


def test_a_moment_with_a_time_zone_is_refused_before_it_is_written_wrong():
    from datetime import datetime
    with pytest.raises(ValueError, match="local time"):
        written([("Moments", [[datetime(2024, 7, 15, 12, tzinfo=UTC)]])])


def test_widths_and_header_rows():
    sheet = xlsx.Sheet("Réponses", [["Référence", "Bilan"], ["reference", "bilan"], ["SAV-1", "Un texte"]],
                       frozen_rows=2, widths=[16, 60], header_rows=2)
    book = openpyxl.load_workbook(io.BytesIO(written([sheet])))["Réponses"]
    assert (book.column_dimensions["A"].width, book.column_dimensions["B"].width) == (16, 60)
    assert [(cell.font.b, cell.alignment.wrap_text) for cell in book[1] + book[2]] == [(True, True)] * 4
    assert [cell.font.b for cell in book[3]] == [False, False], "answers are not headers"
    plain = openpyxl.load_workbook(io.BytesIO(written([("Feuille", [["a"]])])))["Feuille"]
    assert plain["A1"].font.b is False and plain.column_dimensions["A"].width == 13, "no widths given: Excel's own"
