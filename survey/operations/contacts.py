"""Withdrawing a contact from a project: its links stop opening anything and no email goes to it any more."""
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import AccessLink, Contact, EmailLog, EmailStatus, EventKind, Response
from .answering import Actor

WITHDRAWN = "contact retiré du projet"


def withdraw_contact(db: Session, contact: Contact, now: datetime, actor: Actor | None = None,
                     responses: list[Response] = (), reason: str | None = None) -> bool:
    """Revoke every link of ``contact``, skip the emails still planned for it, and keep it (for the
    history) as withdrawn; each response it held a link to (and ``responses``) records it. The caller commits.

    False when the contact was already withdrawn (nothing is done).
    """
    if contact.is_withdrawn:
        return False
    contact.withdrawn_at = now
    links = db.scalars(select(AccessLink).where(AccessLink.contact_id == contact.id)).all()
    for link in links:
        if link.revoked_at is None:
            link.revoked_at = now
    db.execute(update(EmailLog).where(EmailLog.contact_id == contact.id,
                                      EmailLog.status.in_([EmailStatus.PENDING, EmailStatus.FAILED]))
               .values(status=EmailStatus.SKIPPED, error=WITHDRAWN))
    concerned = {response.id: response for response in [*responses, *(link.response for link in links)]}
    for response in concerned.values():
        db.add((actor or Actor()).event(response, EventKind.LINKS_WITHDRAWN, now, old_value=contact.email, reason=reason))
    return True


def withdraw_from_project(db: Session, contact: Contact, response: Response, now: datetime, actor: Actor,
                          reason: str | None = None) -> bool:
    """A Caf user withdraws one contact of a project (a person who left the structure); commits.

    False when the contact was already withdrawn (nothing is done).
    """
    withdrawn = withdraw_contact(db, contact, now, actor, responses=[response], reason=reason)
    db.commit()
    return withdrawn


def reinstate_contact(contact: Contact):
    """A contact listed again by an import receives emails again (with new links: the old ones stay revoked).

    The caller commits.
    """
    contact.withdrawn_at = None
