"""A folder instead of an SMTP server, for the demo: each email is written there as one ``.eml`` file.

``SURVEY_MAIL_FOLDER`` turns it on (``bin/demo`` does); every email the
application sends then lands in that folder instead of leaving, and
administrators read them at ``/admin/courriels`` (a page that exists only
then). A file is written under a temporary name and renamed, so a reader
never sees half a message.
"""
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from ..models.types import utcnow

# The names this module writes: ``20240715-215959-123456-1a2b3c4d.eml``; nothing else is ever read.
FILE_NAME = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{8}\.eml")


def write_message(folder: str, message: Message) -> Path:
    """Store ``message`` as a new ``.eml`` file of ``folder`` (created if needed); returns its path."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%d-%H%M%S-%f}-{secrets.token_hex(4)}.eml"
    temporary = target / f".{name}.tmp"
    temporary.write_bytes(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
    os.replace(temporary, target / name)
    return target / name


@dataclass
class StoredMessage:
    """One stored email as the reading pages show it."""

    name: str
    date: datetime | None
    recipient: str
    subject: str
    text: str
    html: str
    attachments: list[tuple[str, int]]  # (file name, size in bytes)


def list_messages(folder: str) -> list[StoredMessage]:
    """Every stored email, the newest first (an empty list if the folder does not exist yet)."""
    path = Path(folder)
    if not path.is_dir():
        return []
    names = sorted((entry.name for entry in path.iterdir() if FILE_NAME.fullmatch(entry.name)), reverse=True)
    return [read_message(folder, name) for name in names]


def read_message(folder: str, name: str) -> StoredMessage | None:
    """The stored email ``name``; None for a name this module never writes or a file that is gone."""
    if not FILE_NAME.fullmatch(name or ""):
        return None
    try:
        raw = (Path(folder) / name).read_bytes()
    except FileNotFoundError:
        return None
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)
    try:
        date = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    attachments = [(part.get_filename() or "sans nom", len(part.get_payload(decode=True) or b""))
                   for part in message.iter_attachments()]
    return StoredMessage(name, date, str(message["To"] or ""), str(message["Subject"] or ""),
                         text.get_content() if text is not None else "", html.get_content() if html is not None else "",
                         attachments)
