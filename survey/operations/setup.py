"""Campaigns, Cafs and projects (personal links: :mod:`survey.links`)."""
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine.answers import prefilled_answers
from ..engine.definition import definition_for
from ..errors import DomainError
from ..links import issue_link, revoke_link
from ..models import AccessLink, Caf, Campaign, Contact, Project, Response
from ..models.caf import timezone_for_number
from ..questionnaires import campaign_definition


def create_campaign(db: Session, code: str, content: dict, opens_at: datetime, closes_at: datetime, title=None) -> Campaign:
    """Create a campaign that keeps its own copy of the definition's JSON; commits."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,59}", code or ""):
        raise DomainError("Le code de campagne compte 3 à 60 caractères : minuscules, chiffres et tirets.")
    if db.scalar(select(Campaign).where(Campaign.code == code)) is not None:
        raise DomainError(f"Une campagne a déjà le code {code}.")
    if opens_at >= closes_at:
        raise DomainError("L'ouverture doit précéder la fermeture.")
    definition = definition_for(content)
    title = title or definition.title
    # The title goes into every email's subject: a line break there would end the header (or add one).
    if any(ord(character) < 32 or ord(character) == 127 for character in title):
        raise DomainError("Le titre de la campagne figure dans l’objet des courriels : il tient sur une ligne, sans "
                          "retour à la ligne ni tabulation.")
    if len(title) > 200:
        raise DomainError("Le titre de la campagne compte 200 caractères au plus.")
    campaign = Campaign(
        code=code, title=title, definition_code=definition.code,
        definition_version=definition.version, definition_content=content,
        opens_at=opens_at, closes_at=closes_at,
    )
    db.add(campaign)
    db.commit()
    return campaign


def get_or_create_caf(db: Session, number: str, name: str, timezone: str | None = None) -> Caf:
    """The Caf of this number; a new one takes ``timezone``, or its department's (971 ... 976; Paris otherwise).

    The caller commits.
    """
    caf = db.scalar(select(Caf).where(Caf.number == number))
    if caf is None:
        caf = Caf(number=number, name=name, timezone=timezone or timezone_for_number(number))
        db.add(caf)
        db.flush()
    return caf


def project_context(project: Project) -> dict:
    """What the import knows of a project, offered as prefilled answers."""
    return {
        "structure_name": project.structure_name,
        "siret": project.siret,
        "siren": project.siret[:9] if project.siret else None,
        "caf_name": project.caf.name,
        "caf_number": project.caf.number,
        "commune": project.commune,
    }


def renew_links(db: Session, responses: list[Response], now: datetime) -> list[tuple[Contact, str]]:
    """A fresh personal link for each current contact of the responses' projects, their older links revoked;
    returns (contact, token) pairs, tokens being never stored. Commits."""
    links = []
    for response in responses:
        for contact in response.project.current_contacts:
            for old in db.scalars(select(AccessLink).where(AccessLink.contact_id == contact.id,
                                                            AccessLink.revoked_at.is_(None))):
                revoke_link(old, now)
            links.append((contact, issue_link(db, contact, response)))
    db.commit()
    return links


def enrol_project(db: Session, campaign: Campaign, project: Project) -> Response:
    """The project's response for the campaign, created (prefilled) if absent. The caller commits."""
    response = db.scalar(select(Response).where(Response.campaign_id == campaign.id, Response.project_id == project.id))
    if response is None:
        definition = campaign_definition(campaign)
        response = Response(
            campaign=campaign, project=project, definition_version=definition.version,
            answers=prefilled_answers(definition, project_context(project)), invalid={},
        )
        db.add(response)
        db.flush()
    return response
