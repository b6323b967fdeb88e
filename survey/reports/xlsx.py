"""A streaming XLSX writer: rows go straight into the compressed archive.

Just what the exports need: several sheets of plain values, texts as inline
strings (so nothing is ever a formula), numbers as numbers, no styling. Memory
does not grow with the number of rows. We write the sheet XML ourselves
because openpyxl's write-only cell writer cost about 13 µs a cell, six times
the whole raw dump of the same rows (``bench/RESULTS.md``); openpyxl still
reads every export back in the tests.
"""
import math
import re
import time
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

# Day 0 of Excel's date serials (1900 system, with its phantom 29 February 1900).
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_EPOCH_TIME = datetime(1899, 12, 30)
EXCEL_MAX_TEXT = 32_767  # counted in UTF-16 units, as Excel does: an emoji counts twice
CUT_MARK = " […] (texte coupé : Excel limite une cellule à 32 767 caractères, l'export CSV le donne en entier)"
_KEPT_BYTES = 2 * EXCEL_MAX_TEXT - len(CUT_MARK.encode("utf-16-le"))  # of a text cut, in UTF-16
# Past this, a sheet part would need ZIP64 extensions, which Excel reads only in its own strict
# flavour (kept 1 MiB below zipfile's limit, so that the archive still closes cleanly).
SHEET_MAX_BYTES = zipfile.ZIP64_LIMIT - 2**20
# What XML 1.0 cannot carry (control characters but tab and line breaks, lone surrogates, U+FFFE/FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_x0041_" in a text as "A": such a sequence is written with its "_" escaped.
EXCEL_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


class Sheet(NamedTuple):
    """A sheet to write: its name, its rows, the first rows and columns that stay in view when scrolling,
    its columns' widths (in characters, from the first column) and how many first rows are headers (bold, wrapped)."""
    name: str
    rows: Iterable[Iterable]
    frozen_rows: int = 0
    frozen_columns: int = 0
    widths: Sequence[float] = ()
    header_rows: int = 0


class TooLargeForExcel(Exception):
    """The rows would make a sheet bigger than an XLSX file can hold for Excel."""


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLES = (HEADER + f'<styleSheet xmlns="{MAIN}">'
          '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts>'
          '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
          '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
          '<fills count="2"><fill><patternFill patternType="none"/></fill>'
          '<fill><patternFill patternType="gray125"/></fill></fills>'
          '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
          # 1: a date, in the reader's own short-date format (jj/mm/aaaa in French)
          '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          # 2: a date and time of day (already in the Caf's local time)
          '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          # 3: a header: bold, wrapped, at the top of its cell
          '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
          '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
          '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
          '</styleSheet>')


def write_workbook(target, sheets: Iterable[Sheet | tuple]):
    """Write ``sheets`` (:class:`Sheet`, or (name, rows) pairs) as an XLSX file into ``target`` (a binary file).

    A cell is a ``str`` (always text, even "=1+1"), an ``int`` or ``float`` (a
    number), a ``bool``, a ``date`` (a date cell), a naive ``datetime`` (a date and
    time, written as given: local time), or ``None`` / ``""`` (left empty). Rows are read once,
    in order. Raises :class:`TooLargeForExcel` past ``SHEET_MAX_BYTES`` of XML
    in one sheet, and ``ValueError`` for sheet names Excel refuses (before
    writing anything).
    """
    sheets = [Sheet(*sheet) for sheet in sheets]
    names = [sheet.name for sheet in sheets]
    _check_sheet_names(names)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in _package_parts(names):
            archive.writestr(part, content)
        for number, sheet in enumerate(sheets, 1):
            entry = zipfile.ZipInfo(f"xl/worksheets/sheet{number}.xml", date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w") as part:
                _write_sheet(part, sheet)


def _check_sheet_names(names: list[str]):
    if not names:
        raise ValueError("un classeur Excel a au moins une feuille")
    for name in names:
        if (not 0 < len(name) <= 31 or SHEET_NAME_FORBIDDEN.search(name) or name[0] == "'" or name[-1] == "'"
                or name.lower() == "history"):
            raise ValueError(f"nom de feuille impossible dans Excel : {name!r}")
    if len({name.lower() for name in names}) < len(names):
        raise ValueError(f"deux feuilles ont le même nom : {names}")


def _package_parts(names: list[str]):
    count = len(names)
    yield "[Content_Types].xml", (
        HEADER + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CONTENT_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{CONTENT_TYPE}.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{CONTENT_TYPE}.worksheet+xml"/>'
                  for n in range(1, count + 1))
        + "</Types>")
    yield "_rels/.rels", (
        HEADER + f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>")
    yield "xl/workbook.xml", (
        HEADER + f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
        + "".join(f'<sheet name="{_escape(NOT_XML.sub("", name))}" sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(names, 1))
        + "</sheets></workbook>")
    yield "xl/_rels/workbook.xml.rels", (
        HEADER + f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
        + "".join(f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                  for n in range(1, count + 1))
        + f'<Relationship Id="rId{count + 1}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
        "</Relationships>")
    yield "xl/styles.xml", STYLES


def _write_sheet(part, sheet: Sheet):
    written = part.write(f'{HEADER}<worksheet xmlns="{MAIN}">{_frozen_pane(sheet)}{_widths(sheet.widths)}'
                         '<sheetData>'.encode())
    letters: list[str] = []
    for number, row in enumerate(sheet.rows, 1):
        cells = [f'<row r="{number}">']
        header = number <= sheet.header_rows
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if column >= len(letters):
                letters.extend(column_letter(n) for n in range(len(letters), column + 1))
            cell = _cell(f"{letters[column]}{number}", value)
            cells.append(cell.replace("<c ", '<c s="3" ', 1) if header and cell else cell)
        cells.append("</row>")
        data = "".join(cells).encode()
        if written + len(data) > SHEET_MAX_BYTES:
            raise TooLargeForExcel()
        written += part.write(data)
    part.write(b"</sheetData></worksheet>")


def _widths(widths: Sequence[float]) -> str:
    if not widths:
        return ""
    return "<cols>" + "".join(f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
                              for n, width in enumerate(widths, 1)) + "</cols>"


def _frozen_pane(sheet: Sheet) -> str:
    rows, columns = sheet.frozen_rows, sheet.frozen_columns
    if not rows and not columns:
        return ""
    active = {(True, True): "bottomRight", (True, False): "bottomLeft", (False, True): "topRight"}[bool(rows), bool(columns)]
    split = (f' xSplit="{columns}"' if columns else "") + (f' ySplit="{rows}"' if rows else "")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{column_letter(columns)}{rows + 1}"'
            f' activePane="{active}" state="frozen"/><selection pane="{active}"/></sheetView></sheetViews>')


def _cell(reference: str, value) -> str:
    """One cell's XML; empty when nothing is left to write."""
    if value.__class__ is not str:
        if isinstance(value, bool):
            return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)) and math.isfinite(value):
            number = int(value) if isinstance(value, int) else float(value)
            return f'<c r="{reference}"><v>{number!r}</v></c>'
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise ValueError("an XLSX cell takes a local time: convert the moment to the reader's zone first")
            return f'<c r="{reference}" s="2"><v>{(value - EXCEL_EPOCH_TIME) / timedelta(days=1)!r}</v></c>'
        if isinstance(value, date):
            return f'<c r="{reference}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>'
        value = str(value)
    value = NOT_XML.sub("", value)
    if len(value) > EXCEL_MAX_TEXT // 2:  # else it fits even if every character took two UTF-16 units
        encoded = value.encode("utf-16-le")
        if len(encoded) > 2 * EXCEL_MAX_TEXT:
            value = encoded[:_KEPT_BYTES].decode("utf-16-le", "ignore") + CUT_MARK
    if not value:
        return ""
    if "_x" in value:
        value = EXCEL_ESCAPE.sub("_x005F_", value)
    space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
    return f'<c r="{reference}" t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'


def _escape(text: str) -> str:
    """For XML text and attributes; ``text`` holds only what XML can carry.

    A carriage return is written as a character reference: raw, every XML
    reader would turn it (or CR LF) into a line feed.
    """
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\r", "&#13;"))


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
