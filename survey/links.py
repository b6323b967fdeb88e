"""Personal links: a partner's way in, issued to one contact for one response, stored hashed."""
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from .access import hash_token, new_token, well_formed
from .errors import DomainError
from .models import AccessLink, Contact, Response


def issue_link(db: Session, contact: Contact, response: Response) -> str:
    """Create a personal link; returns the token, which is never stored. Never for a withdrawn contact.

    A building block of the invitation rounds and the demo (see :mod:`survey.operations`): the caller commits.
    """
    if contact.is_withdrawn:
        raise DomainError(f"{contact.email} a été retiré de ce projet : aucun lien ne lui est donné.")
    token = new_token()
    db.add(AccessLink(token_hash=hash_token(token), contact=contact, response=response))
    db.flush()
    return token


def revoke_link(link: AccessLink, now: datetime):
    """The link stops opening anything (its first revocation is kept). The caller commits."""
    link.revoked_at = link.revoked_at or now


def open_link(db: Session, token: str, now: datetime) -> int | None:
    """Record that the personal link behind ``token`` was opened; commits (a view's whole write).

    Returns the link's id, or None when no live link has this token (unknown,
    malformed or revoked: the caller cannot tell which). One statement.
    """
    if not well_formed(token):
        return None
    links = AccessLink.__table__
    link_id = db.scalar(update(links).where(links.c.token_hash == hash_token(token), links.c.revoked_at.is_(None))
                        .values(last_used_at=now).returning(links.c.id))
    db.commit()
    return link_id
