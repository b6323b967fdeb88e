"""Composing emails (French, plain text with an HTML alternative) and sending them through SMTP.

Nothing here writes to the database: :mod:`.rounds` plans every message and
:mod:`.delivery` logs it, commits, and only then hands it to a :class:`Postman`.
"""
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.charset import QP, Charset
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.policy import default as modern_policy
from email.utils import format_datetime as rfc5322_date
from email.utils import formataddr, make_msgid, parseaddr

from flask import current_app

from .. import clock
from ..deadline import partner_window
from ..documents import bilan_filename, bilan_pdf
from ..engine.answers import is_visible
from ..engine.definition import Definition
from ..engine.timefmt import format_date, format_datetime
from ..models import CorrectionRequest, EmailKind, Response
from ..models.types import utcnow
from ..questionnaires import campaign_definition
from .folder import write_message

TEMPLATES = {
    EmailKind.INVITATION: "invitation",
    EmailKind.REMINDER: "reminder",
    EmailKind.RECEIPT: "receipt",
    EmailKind.CORRECTION: "correction",
    EmailKind.VALIDATED: "validated",
    EmailKind.REOPENED: "reopened",
}


class SmtpUnavailable(Exception):
    """The SMTP server cannot be reached or refuses our login: nothing was sent."""


@dataclass(frozen=True)
class Answer:
    label: str
    lines: list[str]


@dataclass(frozen=True)
class Section:
    number: int
    title: str
    answers: list[Answer]


def answer_sections(definition: Definition, answers: dict) -> list[Section]:
    """The visible answers, page by page, as lines of text (what the receipt shows)."""
    sections = []
    for page in definition.pages:
        shown = []
        for question in page.questions:
            if not is_visible(question, answers):
                continue
            lines = list(question.display(answers.get(question.code)))
            lines += [f"{label} : {value}" for label, value in question.display_followups(answers)]
            shown.append(Answer(question.label, lines))
        sections.append(Section(page.number, page.title, shown))
    return sections


def subject_for(kind: EmailKind, response: Response) -> str:
    """The subject line, e.g. ``Clas 2023-2024 : bilan qualitatif – votre lien personnel``."""
    title = response.campaign.title
    if kind is EmailKind.INVITATION:
        return f"{title} – votre lien personnel"
    if kind is EmailKind.REMINDER:
        window = partner_window(response)
        return f"{title} – rappel : bilan à transmettre avant le {format_date(window.closes_at, window.timezone)}"
    if kind is EmailKind.RECEIPT:
        return f"{title} – accusé de réception {response.receipt}"
    if kind is EmailKind.VALIDATED:
        return f"{title} – votre bilan est validé par la Caf"
    if kind is EmailKind.REOPENED:
        return f"{title} – votre bilan est rouvert"
    return f"{title} – la Caf vous demande une correction"


def compose(kind: EmailKind, response: Response, recipient: str, link: str | None = None,
            request: CorrectionRequest | None = None, message_id: str | None = None) -> Message:
    """The message for ``recipient``: subject, text and HTML parts, Date and Message-ID.

    ``link`` is the personal link to put in invitations, reminders and
    correction notices; ``request`` the correction request of a notice;
    ``message_id`` one from :func:`new_message_id` (a new one otherwise).
    """
    tz = response.project.caf.timezone
    definition = campaign_definition(response.campaign)
    window = partner_window(response)
    context = {
        "kind": kind.value, "response": response, "project": response.project, "caf": response.project.caf,
        "campaign": response.campaign, "recipient": recipient, "link": link, "tz": tz,
        "deadline": format_datetime(window.closes_at, tz), "is_correction_delay": window.is_correction_delay,
        "blank_questionnaire": f"{current_app.config['BASE_URL'].rstrip('/')}/questionnaire/{response.campaign.code}",
    }
    attachments = []
    if kind is EmailKind.RECEIPT:
        context["submitted"] = format_datetime(response.submitted_at, tz)
        context["retransmitted"] = response.receipt_round != response.receipt
        context["sections"] = answer_sections(definition, response.answers)
        context["pdf_name"] = bilan_filename(response)
        attachments.append((context["pdf_name"], receipt_pdf(response)))
    if kind is EmailKind.VALIDATED and response.validated_at:
        context["validated"] = format_datetime(response.validated_at, tz)
    if kind is EmailKind.CORRECTION:
        context["until"] = format_datetime(request.until, tz)
        context["items"] = [_correction_item(definition, item) for item in request.items]
    subject = subject_for(kind, response)
    context["subject"] = subject
    env = current_app.jinja_env
    text = env.get_template(f"email/{TEMPLATES[kind]}.txt").render(context)
    html = env.get_template(f"email/{TEMPLATES[kind]}.html").render(context)
    return build_message(recipient, subject, text, html, message_id, attachments)


# The last few receipts' PDFs, by (response id, version): the receipts of one transmission leave one after
# the other, each claimed on its own by this process's sender, and share one PDF (about 9 ms of CPU each).
_receipt_pdfs: dict[tuple[int, int], bytes] = {}
RECEIPT_PDFS_KEPT = 8


def receipt_pdf(response: Response) -> bytes:
    """The bilan's PDF as transmitted, built once for all the contacts its receipt goes to (of this version)."""
    key = (response.id, response.version)
    pdf = _receipt_pdfs.get(key)
    if pdf is None:
        pdf = bilan_pdf(response, clock.now())
        if len(_receipt_pdfs) >= RECEIPT_PDFS_KEPT:
            _receipt_pdfs.pop(next(iter(_receipt_pdfs)))
        _receipt_pdfs[key] = pdf
    return pdf


def forget_receipt_pdfs():
    _receipt_pdfs.clear()


def _correction_item(definition: Definition, item: dict) -> dict:
    question = definition.questions.get(item["code"])
    if question is None:
        return {"label": item["code"], "page": None, "message": item["message"]}
    page = definition.pages[question.page_index]
    return {"label": question.label, "page": f"{page.number} : {page.title}", "message": item["message"]}


# Quoted-printable keeps the French text readable and every line 7-bit safe.
_BODY_CHARSET = Charset("utf-8")
_BODY_CHARSET.body_encoding = QP


def new_message_id() -> str:
    """A Message-ID in the sender's domain."""
    return make_msgid(domain=parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or None)


def build_message(recipient: str, subject: str, text: str, html: str, message_id: str | None = None,
                  attachments: list[tuple[str, bytes]] = ()) -> Message:
    """A MIME message with both alternatives, and any PDF ``attachments`` (file name, bytes); no tracking.

    Without attachments the message is multipart/alternative; with them,
    multipart/mixed holding the alternatives then each PDF.

    Built with the email package's classic MIME classes and their compat32
    policy: ``EmailMessage`` parses back every header it is given and cost
    twice the CPU, on a path (the receipt) that runs at every transmission of
    the deadline rush. Non-ASCII subjects and sender names are still encoded
    (RFC 2047). An address with non-ASCII characters (``andré@…``) cannot be
    encoded that way: its message takes the modern policy, and smtplib sends
    it only to a server that offers SMTPUTF8.
    """
    for name, value in (("Subject", subject), ("To", recipient)):
        if "\r" in value or "\n" in value:  # would break the header block (or add headers)
            raise ValueError(f"saut de ligne dans l'en-tête {name}")
    policy = compat32 if recipient.isascii() else modern_policy
    alternative = MIMEMultipart("alternative", policy=policy)
    message = MIMEMultipart("mixed", policy=policy) if attachments else alternative
    message["Subject"] = subject
    message["From"] = formataddr(parseaddr(current_app.config["MAIL_FROM"]))
    message["To"] = recipient
    message["Date"] = rfc5322_date(utcnow())
    message["Message-ID"] = message_id or new_message_id()
    # Tells auto-responders not to answer (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    for body, subtype in ((text, "plain"), (html, "html")):
        part = MIMEText(body, subtype, _BODY_CHARSET, policy=policy)
        del part["MIME-Version"]  # once, at the top
        alternative.attach(part)
    if attachments:
        del alternative["MIME-Version"]
        message.attach(alternative)
    for filename, data in attachments:
        part = MIMEApplication(data, "pdf", policy=policy)
        del part["MIME-Version"]
        part.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(part)
    return message


def describe_error(exc: BaseException) -> str:
    """An SMTP or network failure as one line, with the server's code and text."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(reply)}" for code, reply in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__} : {exc}"


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


# Refusals of one message: the connection stays usable for the next ones.
MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class Postman:
    """One SMTP connection for a run of messages, opened on first use, reopened after a break.

    Settings: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_TIMEOUT``, ``SMTP_STARTTLS``,
    ``SMTP_USER`` / ``SMTP_PASSWORD`` (login only when a user is set). With
    ``MAIL_FOLDER`` (the demo), messages go to that folder instead (:mod:`.folder`).
    """

    def __init__(self, config):
        self.config = config
        self.folder = config.get("MAIL_FOLDER")
        self._smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def connect(self):
        """Open the connection if needed (or if the server dropped it); raises :class:`SmtpUnavailable`."""
        if self.folder:
            return
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        config = self.config
        smtp = None
        try:
            smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"])
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            server = f"{config['SMTP_HOST']}:{config['SMTP_PORT']}"
            raise SmtpUnavailable(f"serveur SMTP {server} : {describe_error(exc)}") from exc
        self._smtp = smtp

    def send(self, message: Message):
        """Hand one message to the server; raises on failure (``smtplib.SMTPException``, ``OSError``...)."""
        if self.folder:
            write_message(self.folder, message)
            return
        self.connect()
        try:
            self._smtp.send_message(message)
        except MESSAGE_REFUSED:
            raise
        except Exception:
            self._drop()  # the exchange may have stopped halfway: start the next message afresh
            raise

    def close(self):
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()

    def _drop(self):
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None


class Throttle:
    """At most ``per_second`` messages a second (0 or less: no limit)."""

    def __init__(self, per_second: float, sleep=time.sleep, clock=time.monotonic):
        self.per_second = per_second
        self.interval = 1 / per_second if per_second and per_second > 0 else 0
        self.sleep = sleep
        self.clock = clock
        self._last = None

    def wait(self):
        if self.interval and self._last is not None:
            delay = self._last + self.interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self._last = self.clock()
