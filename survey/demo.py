"""A demo campaign to try the application: open now, closing in 30 days."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .engine.definition import read_definition_file
from .questionnaires import DEFINITIONS_DIR
from .models import AccessLink, Campaign, Contact, Project, Role, User
from .models.types import utcnow
from .operations import create_campaign, enrol_project, get_or_create_caf, issue_link, revoke_link

DEMO_CAMPAIGN = "clas-2023-2024-demo"
DEMO_PROJECTS = [
    # reference, structure, SIRET, commune, Caf number, contacts
    ("CLAS-73-001", "Association Les Petits Savants", "77567227200017", "Chambéry", "731", ["direction@petits-savants.example", "clas@petits-savants.example"]),
    ("CLAS-73-002", "Centre social du Biollay", "41234567000019", "Chambéry", "731", ["accueil@cs-biollay.example"]),
    ("CLAS-74-001", "Commune de Cluses", "51234568700010", "Cluses", "741", ["education@cluses.example"]),
]
CAFS = {"731": "Caf de la Savoie", "741": "Caf de la Haute-Savoie"}
# What the Caf de la Savoie's partners are shown when they need help (start page, footer, error pages, emails).
# Invented but realistic: an .example address and a number of the range reserved for fiction (04 65 71).
DEMO_CONTACT = {
    "contact_email": "clas@caf73.example",
    "contact_phone": "04 65 71 20 24",
    "contact_address": "Caf de la Savoie – Service Clas\n12 avenue des Ducs de Savoie\n73000 Chambéry",
    "contact_hours": "du lundi au vendredi, de 9 h à 12 h et de 13 h 30 à 16 h 30",
    "contact_note": "Pour une question sur votre bilan, donnez la référence de votre projet (CLAS-73-…).",
}
# Demo accounts only: their passwords are printed on the console.
DEMO_USERS = [
    ("instructeur@caf73.example", "demo-instructeur-73", "Instructeur de la Caf de la Savoie"),
    ("admin@cnaf.example", "demo-administrateur", "Administrateur national"),
]


def seed_demo(db, days_open=30) -> list[tuple[Project, Contact, str]]:
    """Create (or refresh) the demo campaign; returns fresh personal links.

    Tokens are only stored hashed, so running it again revokes the demo's old
    links and prints new ones.
    """
    now = utcnow()
    campaign = db.scalar(select(Campaign).where(Campaign.code == DEMO_CAMPAIGN))
    if campaign is None:
        content, _ = read_definition_file(DEFINITIONS_DIR / "clas-2023-2024.json")
        paris = ZoneInfo("Europe/Paris")
        last_day = (now + timedelta(days=days_open)).astimezone(paris).replace(hour=23, minute=59, second=59, microsecond=0)
        campaign = create_campaign(db, DEMO_CAMPAIGN, content, now - timedelta(minutes=1), last_day.astimezone(ZoneInfo("UTC")))
    links = []
    for reference, structure, siret, commune, caf_number, emails in DEMO_PROJECTS:
        caf = get_or_create_caf(db, caf_number, CAFS[caf_number])
        project = db.scalar(select(Project).where(Project.reference == reference))
        if project is None:
            project = Project(reference=reference, caf=caf, structure_name=structure, siret=siret, commune=commune)
            db.add(project)
            db.flush()
        response = enrol_project(db, campaign, project)
        for email in emails:
            contact = db.scalar(select(Contact).where(Contact.project_id == project.id, Contact.email == email))
            if contact is None:
                contact = Contact(project=project, email=email)
                db.add(contact)
                db.flush()
            for old in db.scalars(select(AccessLink).where(AccessLink.contact_id == contact.id, AccessLink.revoked_at.is_(None))):
                revoke_link(old, now)
            links.append((project, contact, issue_link(db, contact, response)))
    savoie = get_or_create_caf(db, "731", CAFS["731"])
    if not savoie.has_contact:  # an administrator's later changes stay
        for field, value in DEMO_CONTACT.items():
            setattr(savoie, field, value)
    for (email, password, _label), role, caf_number in zip(DEMO_USERS, (Role.REVIEWER, Role.ADMIN), ("731", None)):
        if db.scalar(select(User).where(User.email == email)) is None:
            user = User(email=email, role=role, caf=get_or_create_caf(db, caf_number, CAFS[caf_number]) if caf_number else None)
            user.set_password(password)
            db.add(user)
    db.commit()
    return links
