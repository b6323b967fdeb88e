"""Attached documents: type checked from content, stored under a random name.

The uploaded name is kept only as a label (sanitised); it is never used to
build a path, and files are always sent back as attachments, never inline.
"""
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DomainError

ALLOWED = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpg": "jpg", "jpeg": "jpg", "odt": "odt", "ods": "ods", "docx": "docx", "xlsx": "xlsx"}
ACCEPTED_TEXT = "PDF, ODT, DOCX, ODS, XLSX, JPEG ou PNG"
KEY = re.compile(r"[0-9a-f]{32}")
# A document inflating past this many times its size, or past 200 MB, is a bomb.
MAX_RATIO = 100
MAX_UNZIPPED = 200 * 1024 * 1024


class UploadRefused(DomainError):
    pass


@dataclass(frozen=True)
class StoredFile:
    key: str
    name: str
    size: int
    mime: str

    def as_answer(self) -> dict:
        return {"key": self.key, "name": self.name, "size": self.size, "mime": self.mime}


@dataclass(frozen=True)
class Upload:
    """A document to store, wherever it comes from. A posted file (werkzeug's ``FileStorage``) has the same
    two attributes and is stored as it is."""

    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class UploadStore:
    """Where attached documents are kept and how large one may be: built once by ``create_app``."""

    directory: str
    max_bytes: int

    def store(self, upload) -> StoredFile:
        """Check and store ``upload`` (an :class:`Upload` or a posted file); :class:`UploadRefused` says why not."""
        return store_upload(upload, self.directory, self.max_bytes)

    def delete(self, key: str):
        delete_stored(self.directory, key)

    def path(self, key: str) -> Path | None:
        return stored_path(self.directory, key)


def safe_name(filename: str) -> str:
    """A printable base name with no path, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:110]}.{ext}" if dot and stem and len(ext) <= 8 else name[:120]
    return name.strip(" .") or "document"


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            unzipped = sum(i.file_size for i in infos)
            if unzipped > MAX_UNZIPPED or unzipped > MAX_RATIO * max(path.stat().st_size, 1):
                raise UploadRefused("Ce fichier compressé est anormal (il se décompresse en un volume démesuré) : il est refusé.")
            names = {i.filename for i in infos}
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                return {ALLOWED["odt"]: "odt", ALLOWED["ods"]: "ods"}.get(mimetype)
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "docx"
                if "xl/workbook.xml" in names:
                    return "xlsx"
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None
    return None


def detect_kind(path: Path) -> str | None:
    """The document's real type from its bytes, or None."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    return None


def store_upload(upload, upload_dir: str, max_bytes: int) -> StoredFile:
    """Check and store an uploaded file; raise :class:`UploadRefused` with a French reason."""
    name = safe_name(upload.filename)
    directory = Path(upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    target = directory / key
    size = 0
    try:
        with open(target, "xb") as out:
            while chunk := upload.stream.read(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"Le fichier « {name} » dépasse la taille maximale de {max_bytes // (1024 * 1024)} Mo.")
                out.write(chunk)
        if size == 0:
            raise UploadRefused(f"Le fichier « {name} » est vide.")
        kind = detect_kind(target)
        if kind is None:
            raise UploadRefused(f"Le fichier « {name} » n'est pas d'un type accepté ({ACCEPTED_TEXT}).")
        extension = EXTENSIONS.get(name.rpartition(".")[2].lower()) if "." in name else None
        if extension != kind:
            raise UploadRefused(
                f"Le fichier « {name} » ne correspond pas à son extension : son contenu est de type {kind.upper()}. "
                "Renommez-le ou choisissez un autre fichier."
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return StoredFile(key, name, size, ALLOWED[kind])


def stored_path(upload_dir: str, key: str) -> Path | None:
    """The path of a stored file from its key; None for anything that is not a key."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        return None
    path = Path(upload_dir) / key
    return path if path.is_file() else None


def delete_stored(upload_dir: str, key: str):
    path = stored_path(upload_dir, key)
    if path is not None:
        os.unlink(path)
