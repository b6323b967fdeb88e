"""A demo campaign to try the application: open now, closing in 30 days."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .caf_settings import CafSettings
from .engine.definition import read_definition_file
from .importer import Row
from .models import Campaign, Contact, Project, Response, Role, User
from .models.caf import timezone_for_number
from .models.types import utcnow
from .operations import create_campaign, create_user
from .operations.cafs import caf_by_number, update_caf
from .operations.importing import import_rows
from .operations.setup import renew_links
from .questionnaires import DEFINITIONS_DIR

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

    Every write goes through :mod:`survey.operations`, as an administrator's
    would: the projects are imported, the accounts created. Tokens are only
    stored hashed, so running it again revokes the demo's old links and
    prints new ones.
    """
    now = utcnow()
    campaign = db.scalar(select(Campaign).where(Campaign.code == DEMO_CAMPAIGN))
    if campaign is None:
        content, _ = read_definition_file(DEFINITIONS_DIR / "clas-2023-2024.json")
        paris = ZoneInfo("Europe/Paris")
        last_day = (now + timedelta(days=days_open)).astimezone(paris).replace(hour=23, minute=59, second=59, microsecond=0)
        campaign = create_campaign(db, DEMO_CAMPAIGN, content, now - timedelta(minutes=1), last_day.astimezone(ZoneInfo("UTC")))
    rows = [Row(line, reference, structure, siret, caf_number, CAFS[caf_number], commune, emails,
                {"timezone": timezone_for_number(caf_number)})
            for line, (reference, structure, siret, commune, caf_number, emails) in enumerate(DEMO_PROJECTS, start=2)]
    import_rows(db, campaign, rows, now)
    references = [reference for reference, *_ in DEMO_PROJECTS]
    responses = db.scalars(select(Response).join(Project).where(Response.campaign_id == campaign.id,
                                                                Project.reference.in_(references))).all()
    responses.sort(key=lambda response: references.index(response.project.reference))
    links = [(contact.project, contact, token) for contact, token in renew_links(db, responses, now)]
    savoie = caf_by_number(db, "731")
    if not savoie.has_contact:  # an administrator's later changes stay
        update_caf(db, savoie, CafSettings(name=savoie.name, timezone=savoie.timezone, **DEMO_CONTACT))
    for (email, password, _label), role, caf_number in zip(DEMO_USERS, (Role.REVIEWER, Role.ADMIN), ("731", None), strict=True):
        if db.scalar(select(User).where(User.email == email)) is None:
            create_user(db, email, password, role, caf_number)
    return links
