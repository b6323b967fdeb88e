"""French dates in a Caf's time zone; attached documents checked from their bytes."""
import io
import os
import zipfile
from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import FileStorage

from survey.engine.timefmt import format_date, format_datetime, parse_local, unbroken_times
from survey.uploads import UploadRefused, safe_name, store_upload, stored_path

UTC = UTC
MEGABYTE = 1024 * 1024

# -- dates and times -----------------------------------------------------------


def test_clas_deadline_reads_as_french_paris_time():
    deadline = datetime(2024, 7, 15, 21, 59, tzinfo=UTC)

    assert format_datetime(deadline, "Europe/Paris") == "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris"


def test_the_times_a_caf_types_in_its_hours_are_kept_whole():
    typed = "du lundi au vendredi, de 9 h à 12 h et de 13 h 30 à 16 h 30 ; 2 heures le samedi, bureau 12 h"
    assert unbroken_times(typed) == ("du lundi au vendredi, de 9\u00a0h à 12\u00a0h et de 13\u00a0h\u00a030 à "
                                     "16\u00a0h\u00a030 ; 2 heures le samedi, bureau 12\u00a0h")
    assert unbroken_times("9h30 - 12h, salle 2 h bis") == "9h30 - 12h, salle 2\u00a0h bis"  # what has no space stays


def test_first_of_the_month_is_written_1er():
    assert format_datetime(datetime(2024, 8, 1, 7, 5, tzinfo=UTC), "Europe/Paris") == (
        "jeudi 1er août 2024 à 9\u00a0h\u00a005, heure de Paris")
    assert format_date(datetime(2024, 8, 2, 7, 5, tzinfo=UTC), "Europe/Paris") == "vendredi 2 août 2024"


def test_reunion_time_is_four_hours_ahead_of_utc():
    assert format_datetime(datetime(2024, 7, 15, 19, 59, tzinfo=UTC), "Indian/Reunion") == (
        "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion")


def test_date_is_the_local_one_when_the_zone_has_passed_midnight():
    moment = datetime(2024, 7, 15, 21, 0, tzinfo=UTC)

    assert format_date(moment, "Europe/Paris") == "lundi 15 juillet 2024"
    assert format_datetime(moment, "Indian/Reunion") == "mardi 16 juillet 2024 à 1\u00a0h\u00a000, heure de La Réunion"


@pytest.mark.parametrize("local_text, utc", [
    ("2024-07-15 23:59:59", datetime(2024, 7, 15, 21, 59, 59, tzinfo=UTC)),
    # Summer time (UTC+2) until the night of 26-27 October 2024, then UTC+1.
    ("2024-10-26 23:59:59", datetime(2024, 10, 26, 21, 59, 59, tzinfo=UTC)),
    ("2024-10-27 23:59:59", datetime(2024, 10, 27, 22, 59, 59, tzinfo=UTC)),
])
def test_parse_local_reads_paris_wall_clock_time_across_the_dst_change(local_text, utc):
    parsed = parse_local(local_text, "Europe/Paris")

    assert parsed.astimezone(UTC) == utc
    assert parsed.astimezone(UTC).replace(tzinfo=None) == utc.replace(tzinfo=None)


def test_parse_local_refuses_a_time_with_an_offset():
    with pytest.raises(ValueError):
        parse_local("2024-07-15T23:59:59+02:00", "Europe/Paris")


# -- upload names ----------------------------------------------------------------

@pytest.mark.parametrize("uploaded, kept", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\alice\\bilan.pdf", "bilan.pdf"),
    ("bil\x00an\x1b\u202e.pdf", "bilan.pdf"),
    ("Bilan été 2024.pdf", "Bilan été 2024.pdf"),
    ("Bilan e\u0301te\u0301.pdf", "Bilan été.pdf"),
    ("", "document"),
    ("../..", "document"),
])
def test_safe_name_keeps_a_printable_base_name(uploaded, kept):
    assert safe_name(uploaded) == kept


@pytest.mark.parametrize("uploaded", [
    pytest.param("é" * 300 + ".pdf", id="long stem"),
    pytest.param("rapport." + "x" * 130, id="long extension"),
])
def test_safe_name_is_at_most_120_characters(uploaded):
    assert 0 < len(safe_name(uploaded)) <= 120


def test_safe_name_keeps_the_extension_of_a_long_name():
    name = safe_name("bilan " * 50 + ".pdf")

    assert name.endswith(".pdf") and name.startswith("bilan bilan")


# -- stored documents ----------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."
ODT_MIME = "application/vnd.oasis.opendocument.text"


def office_file(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding ``entries`` in order, as office suites write them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            compression = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=compression)
    return buffer.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
DOCX = office_file({
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": b"<Relationships/>",
    "word/document.xml": b"<w:document><w:body><w:p>Bilan</w:p></w:body></w:document>",
})
XLSX = office_file({
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": b"<Relationships/>",
    "xl/workbook.xml": b"<workbook><sheets/></workbook>",
})
ODT = office_file({
    "mimetype": ODT_MIME.encode(),
    "META-INF/manifest.xml": b"<manifest:manifest/>",
    "content.xml": b"<office:document-content/>",
})
# 20 MB of zeros deflate to about 20 KB: a thousand times smaller.
ZIP_BOMB = office_file({
    "[Content_Types].xml": CONTENT_TYPES,
    "word/document.xml": b"\x00" * (20 * MEGABYTE),
})


def upload(filename: str, content: bytes) -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=filename)


@pytest.fixture
def upload_dir(tmp_path):
    return tmp_path / "uploads"


@pytest.mark.parametrize("filename, content, mime", [
    ("bilan.pdf", PDF, "application/pdf"),
    ("photo.png", PNG, "image/png"),
    ("photo.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "image/jpeg"),
    ("bilan.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("tableau.XLSX", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("bilan.odt", ODT, ODT_MIME),
])
def test_accepted_document_is_stored_under_a_random_key(upload_dir, filename, content, mime):
    stored = store_upload(upload(filename, content), str(upload_dir), 10 * MEGABYTE)

    assert (stored.name, stored.size, stored.mime) == (filename, len(content), mime)
    assert len(stored.key) == 32 and os.listdir(upload_dir) == [stored.key]
    assert stored_path(str(upload_dir), stored.key).read_bytes() == content
    assert stored.as_answer() == {"key": stored.key, "name": filename, "size": len(content), "mime": mime}


def test_stored_name_is_the_safe_name(upload_dir):
    stored = store_upload(upload("../../bilan\x00.pdf", PDF), str(upload_dir), MEGABYTE)

    assert stored.name == "bilan.pdf"
    assert os.listdir(upload_dir) == [stored.key]


@pytest.mark.parametrize("filename, content, max_bytes, reason", [
    pytest.param("vide.pdf", b"", MEGABYTE, "« vide.pdf » est vide", id="empty"),
    pytest.param("setup.pdf", EXE, MEGABYTE, "n'est pas d'un type accepté (PDF, ODT, DOCX, ODS, XLSX, JPEG ou PNG)",
                 id="exe renamed pdf"),
    pytest.param("photo.pdf", PNG, MEGABYTE, "ne correspond pas à son extension : son contenu est de type PNG",
                 id="png named pdf"),
    pytest.param("bilan", PDF, MEGABYTE, "ne correspond pas à son extension", id="no extension"),
    pytest.param("gros.pdf", PDF + b"0" * MEGABYTE, MEGABYTE, "dépasse la taille maximale de 1 Mo", id="too big"),
    pytest.param("bombe.docx", ZIP_BOMB, 10 * MEGABYTE, "se décompresse en un volume démesuré", id="zip bomb"),
    pytest.param("faux.docx", b"PK\x03\x04" + b"\x00" * 100, MEGABYTE, "n'est pas d'un type accepté", id="broken zip"),
])
def test_refused_document_leaves_no_file_behind(upload_dir, filename, content, max_bytes, reason):
    with pytest.raises(UploadRefused) as refused:
        store_upload(upload(filename, content), str(upload_dir), max_bytes)

    assert reason in refused.value.message
    assert os.listdir(upload_dir) == []


def test_zip_bomb_really_is_small_on_disk():
    # Guards the test above: the bomb must be refused for its ratio, not its size.
    assert len(ZIP_BOMB) < 200 * 1024


def test_stored_path_finds_a_stored_file_by_its_key(upload_dir):
    stored = store_upload(upload("bilan.pdf", PDF), str(upload_dir), MEGABYTE)

    assert stored_path(str(upload_dir), stored.key) == upload_dir / stored.key


@pytest.mark.parametrize("key", [
    "../x",
    "../" + "0" * 29,
    "not-a-hex-key-not-a-hex-key-1234",
    "0123456789ABCDEF0123456789ABCDEF",
    "0" * 31,
    None,
])
def test_stored_path_refuses_anything_that_is_not_a_key(upload_dir, key):
    upload_dir.mkdir()
    (upload_dir / "x").write_bytes(b"secret")
    (upload_dir / "not-a-hex-key-not-a-hex-key-1234").write_bytes(b"secret")

    assert stored_path(str(upload_dir), key) is None


def test_stored_path_of_a_missing_file_is_none(upload_dir):
    upload_dir.mkdir()

    assert stored_path(str(upload_dir), "0123456789abcdef0123456789abcdef") is None
