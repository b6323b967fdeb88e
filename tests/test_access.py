"""Who reaches what: every route of the application, walked as outsiders.

A new route must either be listed as public here or refuse a reviewer of
another Caf and an anonymous visitor; the walk fails until it does.
"""
import io
import zipfile

import pypdf
import pytest
from sqlalchemy import select

from tests.conftest import complete_clas_answers

# The blank questionnaire is public by design: the questions, no answer; so are the legal pages.
PUBLIC = {"static", "legal.show_home", "auth.sign_in", "partner.open_personal_link", "questionnaire.show_blank",
          "questionnaire.download_blank_pdf", "legal.show_legal_notice", "legal.show_privacy_notice",
          "legal.show_accessibility_statement", "legal.show_contacts", "auth.choose_password"}
SECRET_STRUCTURE = "Structure confidentielle de Savoie"


@pytest.fixture
def world(app, factory, partner_for, caf_user):
    """Caf 731 funds one project with answers and a document; a Caf 741 reviewer looks in."""
    campaign = factory.campaign()
    response_id, (token,) = factory.project(campaign, reference="SECRET-731")
    from survey.db import get_session
    from survey.models import Caf, Project, Response, User
    with app.app_context():
        db = get_session()
        db.get(Project, db.get(Response, response_id).project_id).structure_name = SECRET_STRUCTURE
        db.commit()
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.save_page(8, {**complete_clas_answers()[8], "document": (io.BytesIO(b"%PDF-1.4 secret"), "secret.pdf")})
    outsider = caf_user("reviewer", "741")
    insider = caf_user("reviewer", "731")
    with app.app_context():
        user_id = get_session().scalar(select(User.id).where(User.email == "reviewer-731@caf.example"))
        caf_id = get_session().scalar(select(Caf.id).where(Caf.number == "731"))
        log_id = _failed_email(get_session(), response_id)
    values = {"response_id": response_id, "campaign_id": campaign, "number": 1, "code": "document", "caf_id": caf_id,
              "user_id": user_id, "log_id": log_id,
              "name": "clas-2023-2024"}
    return {"values": values, "outsider": outsider, "insider": insider, "partner": partner}


def _failed_email(db, response_id):
    """An invitation of Caf 731 the server refused: another Caf's reviewer must neither see nor resend it."""
    from survey.models import Contact, EmailKind, EmailLog, EmailStatus, Response
    contact = db.scalar(select(Contact).where(Contact.project_id == db.get(Response, response_id).project_id))
    log = EmailLog(kind=EmailKind.INVITATION, round="invitation", contact=contact, response_id=response_id,
                   status=EmailStatus.FAILED, error="550 5.1.1 SECRET-731 unknown")
    db.add(log)
    db.commit()
    return log.id


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def build(rule, values):
    missing = set(rule.arguments) - set(values)
    assert not missing, f"the access walk has no value for {missing} of {rule.rule}: add one to world()"
    return rule.build(values, append_unknown=False)[1]


def readable(data: bytes) -> bytes:
    """The bytes of a response, with the members of a ZIP (XLSX, attachments) unpacked and a PDF's text added."""
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(archive.read(name) for name in archive.namelist())
    if data.startswith(b"%PDF-") and len(data) > 100:  # the test's attached document is a fake PDF of 15 bytes
        text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
        return data + text.encode()
    return data


def leaks(response):
    data = readable(response.data)
    return any(secret in data for secret in (SECRET_STRUCTURE.encode(), b"SECRET-731", b"%PDF-1.4 secret"))


def test_every_route_refuses_a_reviewer_of_another_caf(app, world):
    outsider = world["outsider"]
    outsider.get("/caf/")
    token = outsider.csrf()
    checked = 0
    for rule, method in routes(app):
        if rule.endpoint == "auth.sign_out":
            continue
        url = build(rule, world["values"])
        answer = outsider.client.open(url, method=method, data={"csrf_token": token, "version": "1", "reason": "x",
                                                                "until": "2030-01-01", "questions": ["qpv"],
                                                                "message-qpv": "x", "lieu_action": "piraté"})
        assert not leaks(answer), f"{method} {url} leaks another Caf's data"
        if {"response_id", "log_id"} & set(rule.arguments) or rule.endpoint.split(".")[0] in ("partner", "admin", "preview"):
            assert answer.status_code == 404, f"{method} {url} answered {answer.status_code}, not 404"
        checked += 1
    assert checked >= 12


def test_every_route_refuses_an_anonymous_visitor(app, world):
    client = app.test_client()
    for rule, method in routes(app):
        url = build(rule, world["values"])
        answer = client.open(url, method=method, data={"lieu_action": "piraté"})
        assert not leaks(answer), f"{method} {url} leaks to an anonymous visitor"
        assert answer.status_code in (302, 400, 404), f"{method} {url} answered {answer.status_code}"
        if answer.status_code == 302:
            assert "/connexion" in answer.location


def test_nothing_was_changed_by_the_outsiders(app, world, db):
    from survey.models import EmailLog, EmailStatus, Response
    test_every_route_refuses_a_reviewer_of_another_caf(app, world)
    response = db.get(Response, world["values"]["response_id"])
    assert response.answers["lieu_action"] == "Maison de quartier"
    assert db.get(EmailLog, world["values"]["log_id"]).status is EmailStatus.FAILED
    assert response.state.value == "in_progress" and response.extended_until is None


def test_the_caf_of_the_project_does_reach_it(world):
    insider, values = world["insider"], world["values"]
    campaign = values["campaign_id"]
    for url in (f"/caf/reponses/{values['response_id']}", f"/caf/campagnes/{campaign}",
                f"/caf/campagnes/{campaign}/export.csv", f"/caf/campagnes/{campaign}/export.xlsx",
                f"/caf/campagnes/{campaign}/documents.zip",
                f"/caf/reponses/{values['response_id']}/pages/1", f"/caf/reponses/{values['response_id']}/documents/document",
                f"/caf/reponses/{values['response_id']}/bilan.pdf", f"/caf/campagnes/{campaign}/courriels/echecs",
                f"/caf/campagnes/{campaign}/courriels/apercu?envoi=relance&jours=14"):
        answer = insider.get(url)
        assert answer.status_code == 200 and leaks(answer), url


def test_a_partner_session_gives_no_access_to_caf_pages(world):
    partner, values = world["partner"], world["values"]
    assert partner.client.get(f"/caf/reponses/{values['response_id']}").status_code == 302
