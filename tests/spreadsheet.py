"""Open an XLSX file in a real spreadsheet application: LibreOffice Calc, headless.

openpyxl reads back every export, but it is lenient; Calc is what a Caf
might open it with (Excel is not available here). Without LibreOffice the tests
that need it are skipped, unless ``SURVEY_REQUIRE_LIBREOFFICE=1`` (CI), where
they fail.
"""
import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Every sheet to CSV: ";" separated, '"' quoted, UTF-8, raw values (not as formatted).
ALL_SHEETS_TO_CSV = "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,false,false,false,-1"


def calc_sheets(xlsx: bytes, workdir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``xlsx`` as LibreOffice Calc reads it: {sheet name: rows of texts}."""
    soffice = shutil.which("soffice")
    if soffice is None:
        reason = "no LibreOffice (apt-get install libreoffice-calc-nogui)"
        if os.environ.get("SURVEY_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(f"SURVEY_REQUIRE_LIBREOFFICE=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    source = workdir / "book.xlsx"
    source.write_bytes(xlsx)
    out = workdir / "calc"
    subprocess.run([soffice, f"-env:UserInstallation=file://{workdir / 'profile'}", "--headless",
                    "--convert-to", ALL_SHEETS_TO_CSV, "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=120)
    sheets = {}
    for path in sorted(out.glob("book-*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            sheets[path.stem.removeprefix("book-")] = list(csv.reader(handle, delimiter=";"))
    assert sheets, f"LibreOffice wrote no sheet: {sorted(os.listdir(out)) if out.exists() else 'no output folder'}"
    return sheets
