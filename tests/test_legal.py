"""Legal pages, the footer on every page, and the Caf's contact where a partner needs help."""
import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from survey import create_app
from survey.db import get_session
from survey.models import Caf, EmailKind, Response
from tests.conftest import complete_clas_answers
from tests.test_access import build

UTC = UTC
FOOTER = ('href="/mentions-legales"', 'href="/donnees-personnelles"', 'href="/accessibilite"')


def text(response):
    return html.unescape(response.get_data(as_text=True))


def set_contact(app, number="731", **contact):
    with app.app_context():
        db = get_session()
        caf = db.scalar(select(Caf).where(Caf.number == number))
        for field, value in {"contact_email": "clas@caf73.example", "contact_phone": "04 79 00 00 00",
                             "contact_hours": "du lundi au vendredi, de 9 h à 12 h", **contact}.items():
            setattr(caf, field, value)
        db.commit()


@pytest.fixture
def world(app, factory, partner_for, caf_user):
    campaign = factory.campaign()
    response_id, (token,) = factory.project(campaign)
    set_contact(app)
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    with app.app_context():
        caf_id = get_session().scalar(select(Caf.id))
    admin = caf_user("admin", None)
    with app.app_context():
        from survey.models import User
        user_id = get_session().scalar(select(User.id))
    values = {"response_id": response_id, "campaign_id": campaign, "number": 1, "code": "document", "caf_id": caf_id,
              "token": token, "user_id": user_id, "campaign_code": "campagne-1", "name": "clas-2023-2024"}
    return {"partner": partner, "admin": admin, "values": values, "token": token}


def test_every_page_has_the_footer_links(app, world):
    """Walks every GET route of the URL map as the partner and as an administrator, and the error pages."""
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = build(rule, world["values"])
        client = world["partner"].client if rule.endpoint.startswith("partner.") else world["admin"].client
        answer = client.get(url, follow_redirects=True)
        if answer.mimetype != "text/html":
            continue
        page = answer.get_data(as_text=True)
        for link in FOOTER:
            assert link in page, f"{url} ({answer.status_code}) has no footer link {link}"
        seen += 1
    anonymous = app.test_client()
    for url in ("/nulle-part", "/r/" + "x" * 30, "/bilan", "/connexion"):
        page = anonymous.get(url).get_data(as_text=True)
        assert all(link in page for link in FOOTER), url
    assert seen >= 15


def test_the_legal_pages_are_public_and_say_what_the_law_asks(app):
    client = app.test_client()
    notice = text(client.get("/mentions-legales"))
    assert "Éditeur du service" in notice and "Hébergement" in notice and "Directeur de la publication" in notice
    privacy = text(client.get("/donnees-personnelles"))
    for part in ("Responsable du traitement", "Finalités", "Base légale", "Destinataires", "Durées de conservation",
                 "Vos droits", "CNIL", "délégué à la protection des données", "N’écrivez pas le nom des enfants"):
        assert part in privacy, part
    statement = text(client.get("/accessibilite"))
    for part in ("partiellement conforme", "RGAA", "60 des 67 critères", "89,6 %", "Dérogations",
                 "Voies de recours", "Défenseur des droits", "Critère 10.11"):
        assert part in statement, part
    # Each non-conformity of the audit says it was corrected: none is left promised and undone.
    criteria = re.findall(r"Critère [\d.]+ :[^\n]*", statement)
    assert len(criteria) == 7 and all("Corrigé depuis l’audit" in line for line in criteria), criteria


def test_the_sites_address_says_where_partners_and_cafs_go(app, caf_user):
    anonymous = app.test_client().get("/")
    assert anonymous.status_code == 200
    home = text(anonymous)
    assert "Ouvrez le lien personnel que votre Caf vous a envoyé par courriel" in home
    assert 'href="/contact"' in anonymous.get_data(as_text=True) and 'href="/connexion"' in anonymous.get_data(as_text=True)
    reviewer = caf_user("reviewer", "731")
    signed_in = reviewer.get("/")
    assert signed_in.status_code == 302 and signed_in.location.endswith("/caf/")


def test_the_retention_periods_shown_are_the_configured_ones(app):
    configured = create_app({**app.config, "RETENTION_CONTACT_MONTHS": 18, "RETENTION_ACCOUNT_MONTHS": 6,
                             "PURGE_DOCUMENTS": False})
    page = text(configured.test_client().get("/donnees-personnelles"))
    configured.extensions["db_engine"].dispose()
    assert "18 mois après la fermeture de la campagne" in page and "après 6 mois sans connexion" in page
    assert "Documents joints : conservés avec le bilan" in page
    assert "12 mois" in text(app.test_client().get("/donnees-personnelles"))


def test_a_deployment_replaces_a_legal_text_with_a_file_of_its_own(app, tmp_path):
    (tmp_path / "mentions-legales.html").write_text(
        '{% extends "legal/_page.html" %}{% block title %}Mentions légales{% endblock %}'
        "{% block legal %}<h1>Mentions légales</h1><p>Éditeur : Caf de la Savoie, Chambéry.</p>{% endblock %}",
        encoding="utf-8")
    deployed = create_app({**app.config, "LEGAL_DIR": str(tmp_path)})
    client = deployed.test_client()
    replaced, kept = text(client.get("/mentions-legales")), text(client.get("/donnees-personnelles"))
    deployed.extensions["db_engine"].dispose()
    assert "Éditeur : Caf de la Savoie, Chambéry." in replaced and "Directeur de la publication" not in replaced
    assert all(link in replaced for link in FOOTER)  # still in the site's frame
    assert "Responsable du traitement" in kept  # the others keep the bundled text


def test_the_partners_pages_show_their_cafs_contact(app, world):
    partner = world["partner"]
    start = text(partner.client.get("/bilan"))
    assert "Besoin d’aide ?" in start and 'href="mailto:clas@caf73.example"' in start
    assert "du lundi au vendredi, de 9\u00a0h à 12\u00a0h" in start  # as typed, its times kept whole
    page = text(partner.client.get("/bilan/page/2"))
    footer = page[page.index("<footer"):]
    assert "clas@caf73.example" in footer and "04 79 00 00 00" in footer


def test_a_closed_questionnaire_and_an_invalid_link_say_how_to_reach_the_caf(app, world, clock, db):
    partner = world["partner"]
    clock.set(datetime(2024, 7, 16, 8, 0, tzinfo=UTC))
    closed = text(partner.client.get("/bilan"))
    assert "Questionnaire fermé." in closed and "contactez votre Caf : Caf de la Savoie" in closed
    # A withdrawn link gets the same page as an unknown one (nothing tells them apart), with the way to the contacts.
    from survey.models import AccessLink
    db.scalar(select(AccessLink)).revoked_at = datetime(2024, 7, 1, tzinfo=UTC)
    db.commit()
    withdrawn = app.test_client().get(f"/r/{world['token']}")
    assert withdrawn.status_code == 404 and 'href="/contact"' in text(withdrawn)
    assert "clas@caf73.example" not in text(withdrawn)
    contacts = text(app.test_client().get("/contact"))
    assert "Caf de la Savoie" in contacts and "clas@caf73.example" in contacts


@pytest.mark.parametrize("kind", [EmailKind.INVITATION, EmailKind.REMINDER, EmailKind.RECEIPT])
def test_every_email_carries_the_cafs_contact(app, world, db, kind):
    from survey.mail.messages import compose
    set_contact(app, contact_address="4 rue de la Gare\n73000 Chambéry")
    if kind is EmailKind.RECEIPT:
        db.get(Response, world["values"]["response_id"]).mark_submitted(datetime(2024, 7, 2, tzinfo=UTC), "BQ-T1")
        db.commit()
    with app.test_request_context():
        response = get_session().get(Response, world["values"]["response_id"])
        message = compose(kind, response, "contact@structure.example", link="http://bilan.test/r/x")
    parts = {part.get_content_type(): part.get_payload(decode=True).decode("utf-8") for part in message.walk()
             if part.get_content_type() in ("text/plain", "text/html")}
    plain, rich = parts["text/plain"], parts["text/html"]
    assert "Courriel : clas@caf73.example" in plain and "Adresse : 4 rue de la Gare, 73000 Chambéry" in plain
    assert 'href="mailto:clas@caf73.example"' in rich and "Horaires : du lundi au vendredi" in rich
