"""The streaming XLSX writer, read back by openpyxl and by LibreOffice Calc."""
import io
import zipfile

import openpyxl
import pytest

from survey import xlsx

from .spreadsheet import calc_sheets

WRITTEN = [
    ["texte", "nombre", "vide", "autre"],
    ["=1+1", 42, None, "=HYPERLINK(\"http://evil.example\")"],
    ["+33 6 12 34 56 78", 2.5, "", "@SUM(A1)"],
    ["  espaces devant", -7, None, "fin de ligne\n"],
    ["deux\nlignes", 0, None, 'a & b < c > d "guillemets"'],
    ["contrôle\x01\x0b retiré", 10**12, None, "émoji 🎉 et U+FFFE \ufffe retiré"],
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
]
CODEBOOK = [["colonne", "libellé"], ["texte", "Une réponse libre"]]


def written(sheets) -> bytes:
    target = io.BytesIO()
    xlsx.write_workbook(target, sheets)
    return target.getvalue()


def test_openpyxl_reads_back_every_kind_of_cell():
    book = openpyxl.load_workbook(io.BytesIO(written([("Réponses", iter(WRITTEN)), ("Dictionnaire", CODEBOOK)])))
    assert book.sheetnames == ["Réponses", "Dictionnaire"]
    sheet = book["Réponses"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == READ
    formula_like = [sheet["A2"], sheet["D2"], sheet["A3"], sheet["D3"]]
    assert [cell.data_type for cell in formula_like] == ["s"] * 4, "formula-looking texts are stored as texts"
    assert [sheet["B2"].data_type, sheet["B3"].data_type] == ["n", "n"]
    assert [list(row) for row in book["Dictionnaire"].iter_rows(values_only=True)] == CODEBOOK


def test_a_text_longer_than_excel_allows_is_cut_and_says_so():
    book = openpyxl.load_workbook(io.BytesIO(written([("Réponses", [["x" * 40_000, "court"]])])))
    long_text, short_text = next(book["Réponses"].iter_rows(values_only=True))
    assert len(long_text) == xlsx.EXCEL_MAX_TEXT
    assert long_text.endswith(xlsx.CUT_MARK) and long_text.startswith("x" * 30_000)
    assert short_text == "court"


@pytest.mark.parametrize("name", ["", "a/b", "feuille[1]", "x" * 32])
def test_a_sheet_name_excel_refuses_writes_nothing(name):
    target = io.BytesIO()
    with pytest.raises(ValueError, match="nom de feuille"):
        xlsx.write_workbook(target, [(name, [["a"]])])
    assert target.getvalue() == b""


def test_column_letters_go_past_z():
    assert [xlsx.column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_libreoffice_calc_reads_what_was_written(tmp_path):
    sheets = calc_sheets(written([("Réponses", WRITTEN), ("Dictionnaire", CODEBOOK)]), tmp_path)
    assert sorted(sheets) == ["Dictionnaire", "Réponses"]
    expected = [["" if value is None else str(value) for value in row] for row in READ]
    assert sheets["Réponses"] == expected
    assert sheets["Dictionnaire"] == CODEBOOK


def test_the_sheets_are_compressed_and_dated():
    with zipfile.ZipFile(io.BytesIO(written([("Réponses", [["même texte"]] * 2000)]))) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.compress_type == zipfile.ZIP_DEFLATED and sheet.compress_size < sheet.file_size / 10
        assert sheet.date_time[0] >= 2024
        assert archive.testzip() is None
