"""Removing personal data that is no longer needed, a configurable time after a campaign closes.

What goes: the contacts' email addresses (replaced by a pseudonym), their
personal links, the addresses quoted in the email log and the history, the
attached documents (if configured), the Caf accounts unused for long
(pseudonym too, their second factor and sign-in records with them), and the
sign-in records (address typed, IP address, time) older than their own delay.
What stays: the bilans' answers, about structures and actions, and the
append-only history, which then names a pseudonym instead of an address.
The rate limits' counters need no purge: they expire with their window.
"""
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from .. import uploads
from ..models import (
    AccessLink,
    CafWindow,
    Campaign,
    Contact,
    EmailLog,
    EmailStatus,
    EventKind,
    LoginAttempt,
    Response,
    ResponseEvent,
    User,
)


def months_before(now: datetime, months: int) -> datetime:
    """``now`` less ``months`` months of 30.44 days (a purge need not be exact to the day)."""
    return now - timedelta(days=round(months * 30.44))


def contact_pseudonym(contact_id: int) -> str:
    return f"contact-{contact_id}@supprime.invalid"


def user_pseudonym(user_id: int) -> str:
    return f"compte-{user_id}@supprime.invalid"


@dataclass
class PurgeReport:
    campaigns: list[str] = field(default_factory=list)
    contacts: int = 0
    links: int = 0
    email_rows: int = 0
    documents: int = 0
    accounts: list[str] = field(default_factory=list)
    sign_in_records: int = 0
    applied: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.campaigns or self.contacts or self.links or self.email_rows or self.documents or self.accounts
                    or self.sign_in_records)


def _last_closing(db: Session):
    """Each campaign's last closing: its own, or a later one of a Caf's window."""
    windows = dict(db.execute(select(CafWindow.campaign_id, func.max(CafWindow.closes_at)).group_by(CafWindow.campaign_id)).all())
    return {campaign: max(campaign.closes_at, windows.get(campaign.id, campaign.closes_at))
            for campaign in db.scalars(select(Campaign))}


def purge_personal_data(db: Session, now: datetime, *, contact_months: int, account_months: int,
                        documents: bool, upload_dir: str, sign_in_days: int = 90, apply: bool = False) -> PurgeReport:
    """Find (and with ``apply``, remove) the personal data past its retention; commits when applied.

    A contact is purged once every campaign of its project closed more than
    ``contact_months`` ago (a project still answering another campaign keeps
    its contacts); an account once it has not signed in for ``account_months``
    (counting from its creation if it never did); a sign-in record after
    ``sign_in_days``, or with its account.
    """
    report = PurgeReport()
    limit = months_before(now, contact_months)
    closing = _last_closing(db)
    expired = [campaign for campaign, closes in closing.items() if closes < limit]
    live_ids = [campaign.id for campaign, closes in closing.items() if closes >= limit]
    report.campaigns = [campaign.code for campaign in expired if campaign.purged_at is None]
    expired_ids = [campaign.id for campaign in expired]
    projects = select(Response.project_id).where(Response.campaign_id.in_(expired_ids))
    still_live = select(Response.project_id).where(Response.campaign_id.in_(live_ids))
    contacts = db.scalars(select(Contact).where(Contact.project_id.in_(projects), Contact.project_id.not_in(still_live),
                                                Contact.purged_at.is_(None))).all()
    contact_ids = [contact.id for contact in contacts]
    report.contacts = len(contacts)
    report.links = db.scalar(select(func.count()).select_from(AccessLink).where(AccessLink.contact_id.in_(contact_ids)))
    email_rows = db.scalars(select(EmailLog).where(EmailLog.contact_id.in_(contact_ids))).all()
    report.email_rows = len(email_rows)
    files = []
    if documents:
        for response in db.scalars(select(Response).where(Response.campaign_id.in_(expired_ids),
                                                          Response.project_id.not_in(still_live))):
            files += [value["key"] for value in response.answers.values()
                      if isinstance(value, dict) and "key" in value and uploads.stored_path(upload_dir, value["key"])]
    report.documents = len(files)
    unused = months_before(now, account_months)
    accounts = db.scalars(select(User).where(User.purged_at.is_(None), or_(
        User.last_sign_in_at < unused, (User.last_sign_in_at.is_(None) & (User.created_at < unused))))).all()
    report.accounts = [user.email for user in accounts]
    old_sign_ins = or_(LoginAttempt.at < now - timedelta(days=sign_in_days),
                       LoginAttempt.email.in_([user.email for user in accounts]))
    report.sign_in_records = db.scalar(select(func.count()).select_from(LoginAttempt).where(old_sign_ins))
    if not apply:
        return report

    db.execute(delete(LoginAttempt).where(old_sign_ins))  # before the accounts' addresses change

    addresses = {contact.id: contact.email for contact in contacts}
    for contact in contacts:
        contact.email = contact_pseudonym(contact.id)
        contact.purged_at = now
    db.execute(delete(AccessLink).where(AccessLink.contact_id.in_(contact_ids)))
    for row in email_rows:
        if row.error:
            row.error = row.error.replace(addresses[row.contact_id], contact_pseudonym(row.contact_id))
        if row.status in (EmailStatus.PENDING, EmailStatus.FAILED):
            row.status = EmailStatus.SKIPPED  # nobody is left to send it to
    for user in accounts:
        user.email = user_pseudonym(user.id)
        user.name = f"compte supprimé n° {user.id}"
        user.password_hash = "purged:" + secrets.token_hex(16)  # matches no password
        user.active = False
        user.totp_secret = user.totp_last_step = user.recovery_codes = None
        user.purged_at = now
    _pseudonymise_history(db, addresses, {contact.project_id for contact in contacts})
    for campaign in expired:
        campaign.purged_at = campaign.purged_at or now
    db.commit()
    # The files go once the database no longer needs them; a crash in between leaves files, never holes.
    for key in files:
        uploads.delete_stored(upload_dir, key)
    report.applied = True
    return report


def _pseudonymise_history(db: Session, addresses: dict[int, str], project_ids: set[int]):
    """Replace the addresses quoted in the history by their pseudonyms: "new link sent to ..." (new value),
    "links of a contact withdrawn" (old value).

    The one change ever made to history rows, and only to their addresses: a
    Core UPDATE, since the ORM refuses any update of a history row.
    """
    events = ResponseEvent.__table__
    for kind, column in ((EventKind.LINK_SENT, events.c.new_value), (EventKind.LINKS_WITHDRAWN, events.c.old_value)):
        rows = db.execute(select(events.c.id, column).join(Response, Response.id == events.c.response_id)
                          .where(events.c.kind == kind, Response.project_id.in_(project_ids))).all()
        for event_id, value in rows:
            if not isinstance(value, str):
                continue
            changed = value
            for contact_id, address in addresses.items():
                changed = changed.replace(address, contact_pseudonym(contact_id))
            if changed != value:
                db.execute(update(events).where(events.c.id == event_id).values({column.name: changed}))
