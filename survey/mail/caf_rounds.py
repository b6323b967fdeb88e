"""The invitations and reminders a Caf launches from its pages: previewed as they will leave, planned, then sent in the background.

A preview composes only the messages it shows (the first :data:`SHOWN`) and
counts the rest in SQL, so that a national round costs what a small one does.
A reminder launched from the pages skips the projects already reminded today
(:func:`.choosing.reminded_today`) and says which.
"""
import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..deadline import caf_windows
from ..errors import DomainError
from ..models import Caf, Campaign, Contact, CorrectionRequest, EmailKind, EmailLog, EmailStatus, Project, Response
from . import choosing, messages
from .occasions import check_caf, check_invitations_open
from .rounds import INVITATION_ROUND, Round, invitation_round, lock_campaign, parse_reminder_label, plan, reminder_round

# Composing a message costs about 1 ms (measured at 15,000 responses: 200 shown, 263 ms; 50 shown, 119 ms;
# none, 54 ms): the preview shows the first 50 as they will leave and counts the others.
SHOWN = 50
# The personal link is created when the message leaves: a preview must not issue one.
LINK_PLACEHOLDER = "[lien personnel de ce contact, créé au moment de l’envoi]"
INVITATION, REMINDER = "invitation", "relance"


@dataclass(frozen=True)
class Choice:
    """What the emails form asks for: invitations, or the reminder ``J-<days_before>``, for one Caf or all."""

    kind: str
    days_before: int | None = None
    caf_number: str | None = None

    @classmethod
    def from_form(cls, form, caf_number: str | None) -> "Choice":
        """Read the form's fields; :class:`DomainError` with a French message when they make no sense."""
        kind = form.get("envoi", INVITATION)
        if kind not in (INVITATION, REMINDER):
            raise DomainError("Choisissez une invitation ou une relance.")
        if kind == INVITATION:
            return cls(INVITATION, None, caf_number)
        days = form.get("jours", "").strip()
        if not re.fullmatch(r"[0-9]{1,3}", days) or int(days) > 365:
            raise DomainError("Indiquez le nombre de jours avant la date limite (par exemple 14, 7 ou 2).")
        return cls(REMINDER, int(days), caf_number)

    def as_args(self) -> dict:
        """The query arguments that name this choice in an address (the progress page's)."""
        args = {"envoi": self.kind}
        if self.days_before is not None:
            args["jours"] = self.days_before
        if self.caf_number:
            args["caf"] = self.caf_number
        return args


def caf_round(db: Session, campaign: Campaign, choice: Choice, now: datetime) -> Round:
    """The round the choice names; refused (:class:`DomainError`) for an unknown Caf or invitations after closing."""
    if choice.kind == INVITATION:
        check_invitations_open(db, campaign, now, choice.caf_number)
    else:
        check_caf(db, choice.caf_number)
    return round_of(campaign, choice)


def round_of(campaign: Campaign, choice: Choice) -> Round:
    """The round the choice names, unchecked (to show the progress of one already launched)."""
    if choice.kind == INVITATION:
        return invitation_round(campaign, choice.caf_number)
    return replace(reminder_round(campaign, choice.days_before, choice.caf_number), once_a_day=True)


@dataclass(frozen=True)
class ShownMessage:
    recipient: str
    project_reference: str
    structure_name: str
    subject: str
    text: str


@dataclass(frozen=True)
class RoundPreview:
    """The first messages of a round as they will leave, how many in all, and the projects left out today."""

    messages: list[ShownMessage]
    total: int
    refused: list[str]
    refused_total: int

    @property
    def rest(self) -> int:
        return self.total - len(self.messages)


def preview_round(db: Session, round_: Round, now: datetime, shown: int = SHOWN) -> RoundPreview:
    """Compose the first ``shown`` messages the round would send now; count the others without loading them.

    Writes nothing. A fixed number of statements whatever the round's size.
    """
    query = choosing.candidates(db, round_, now)
    total = db.scalar(select(func.count()).select_from(
        query.with_only_columns(Contact.id, maintain_column_froms=True).order_by(None).subquery()))
    caf_windows(db, round_.campaign.id)  # each message's deadline reads them
    # The correction delays of the page's responses, in one statement even when the page is empty.
    page_ids = query.with_only_columns(Response.id, maintain_column_froms=True).limit(shown).subquery()
    corrections: dict[int, list[CorrectionRequest]] = {}
    for request in db.scalars(select(CorrectionRequest).where(CorrectionRequest.response_id.in_(select(page_ids.c.id)))
                              .order_by(CorrectionRequest.id)):
        corrections.setdefault(request.response_id, []).append(request)
    page = db.execute(query.options(joinedload(Response.project).joinedload(Project.caf)).limit(shown))
    shown_messages = []
    for contact, response in page:
        set_committed_value(response, "correction_requests", corrections.get(response.id, []))
        shown_messages.append(_shown(round_.kind, contact, response))
    return RoundPreview(shown_messages, total, *_refused_today(db, round_, now, shown))


def _refused_today(db: Session, round_: Round, now: datetime, shown: int) -> tuple[list[str], int]:
    """The first ``shown`` projects left out of a web reminder as already reminded today, and their number."""
    if round_.kind is not EmailKind.REMINDER or not round_.once_a_day:
        return [], 0
    query = choosing.refused_today(db, round_, now)
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return [reference for _id, reference in db.execute(query.limit(shown))], total


def _shown(kind: EmailKind, contact: Contact, response: Response) -> ShownMessage:
    message = messages.compose(kind, response, contact.email, LINK_PLACEHOLDER)
    text = next(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                for part in message.walk() if part.get_content_type() == "text/plain")
    return ShownMessage(contact.email, response.project.reference, response.project.structure_name,
                        str(message["Subject"]), text)


@dataclass(frozen=True)
class Planned:
    """What launching a round did: rows planned (the outbox sends them), projects left out as reminded today."""

    planned: int
    refused: list[str]
    refused_total: int


def plan_caf_round(db: Session, round_: Round, now: datetime) -> Planned:
    """Plan the round's messages and commit; the caller wakes the outbox. Sends nothing.

    The projects left out as reminded today are read under the lock the planning takes: a round launched at
    the same moment by another reviewer is then counted among them, never missed."""
    if round_.once_a_day:
        lock_campaign(db, round_.campaign.id)
    refused, refused_total = _refused_today(db, round_, now, 20)
    return Planned(plan(db, round_, now, locked=round_.once_a_day), refused, refused_total)


# -- failures ------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    id: int
    recipient: str
    project_reference: str
    kind: EmailKind
    failed_at: datetime
    timezone: str
    reason: str


def failures(db: Session, campaign: Campaign, caf_id: int | None, shown: int = SHOWN) -> tuple[list[Failure], int]:
    """The campaign's failed messages (of Caf ``caf_id``'s projects, or every Caf's), latest first, and their number."""
    query = (select(EmailLog.id, Contact.email, Project.reference, EmailLog.kind,
                    func.coalesce(EmailLog.attempted_at, EmailLog.planned_at), Caf.timezone, EmailLog.error)
             .join(Contact, EmailLog.contact_id == Contact.id)
             .join(Response, EmailLog.response_id == Response.id)
             .join(Project, Response.project_id == Project.id)
             .join(Caf, Project.caf_id == Caf.id)
             .where(Response.campaign_id == campaign.id, EmailLog.status == EmailStatus.FAILED))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.execute(query.order_by(EmailLog.attempted_at.desc(), EmailLog.id.desc()).limit(shown))
    return [Failure(id_, email, reference, kind, at, zone, reason_in_french(error))
            for id_, email, reference, kind, at, zone, error in rows], total


@dataclass(frozen=True)
class RoundUnderWay:
    """A round whose messages are still waiting to leave: the choice that names its progress page, and how many."""

    choice: Choice
    waiting: int


def rounds_under_way(db: Session, campaign: Campaign, caf_number: str | None) -> list[RoundUnderWay]:
    """The invitations and reminders of the campaign with messages still waiting or being sent, in one query:
    a Caf's (its own invitations, and the reminders it launched) or, with ``None``, every Caf's for an
    administrator (the invitations as one round, each reminder as launched, national or for one Caf)."""
    query = (select(EmailLog.kind, EmailLog.round, func.count()).join(Response, EmailLog.response_id == Response.id)
             .where(Response.campaign_id == campaign.id,
                    EmailLog.status.in_((EmailStatus.PENDING, EmailStatus.SENDING)),
                    or_(and_(EmailLog.kind == EmailKind.INVITATION, EmailLog.round == INVITATION_ROUND),
                        EmailLog.kind == EmailKind.REMINDER))
             .group_by(EmailLog.kind, EmailLog.round))
    if caf_number:
        query = (query.join(Project, Response.project_id == Project.id).join(Caf, Project.caf_id == Caf.id)
                 .where(Caf.number == caf_number))
    found = []
    for kind, label, waiting in db.execute(query):
        if kind == EmailKind.INVITATION:
            found.append(RoundUnderWay(Choice(INVITATION, None, caf_number), waiting))
            continue
        parsed = parse_reminder_label(label)
        # A reviewer follows the reminders its Caf launched; a national one has its own page for the administrators.
        if parsed and (caf_number is None or parsed[1] == caf_number):
            found.append(RoundUnderWay(Choice(REMINDER, *parsed), waiting))
    return sorted(found, key=lambda r: (r.choice.kind != INVITATION, -(r.choice.days_before or 0), r.choice.caf_number or ""))


def failed_ids(db: Session, campaign: Campaign, caf_id: int | None) -> list[int]:
    """Every failed message of the campaign (of Caf ``caf_id``'s projects, or every Caf's)."""
    query = (select(EmailLog.id).join(Response, EmailLog.response_id == Response.id)
             .join(Project, Response.project_id == Project.id)
             .where(Response.campaign_id == campaign.id, EmailLog.status == EmailStatus.FAILED))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    return list(db.scalars(query))


def reason_in_french(error: str | None) -> str:
    """The recorded failure, said in French for a Caf agent, with the server's own words kept in brackets."""
    error = (error or "").strip()
    if not error:
        return "Raison inconnue."
    code = error[:3]
    if error[0].islower():  # already ours, in French ("plus de relance : …", "message impossible à composer : …")
        return error[0].upper() + error[1:]
    if code.isdigit() and code.startswith("5"):
        if code in ("550", "551", "553"):
            return f"Adresse refusée par le serveur de messagerie : vérifiez-la ({error})."
        return f"Message refusé définitivement par le serveur de messagerie ({error})."
    if code.isdigit() and code.startswith("4"):
        return f"Serveur de messagerie momentanément indisponible : renvoyez plus tard ({error})."
    return f"Le serveur d’envoi n’a pas pu être joint, ou a coupé la connexion ({error})."
