"""Withdrawing a contact: by a new import that no longer lists it, or by a reviewer from the project page."""
import html
import io

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.errors import DomainError
from survey.models import Contact, EmailLog, EmailStatus, EventKind, Project, Response, ResponseEvent
from survey.operations import issue_link
from survey.operations.contacts import withdraw_contact
from tests.conftest import complete_clas_answers

FIRST = ("reference;structure;siret;caf;commune;emails\r\n"
         "CLAS-73-020;Association Lire Ensemble;77567227200017;731;Chambéry;ancien@lire.example\r\n")
CHANGED = FIRST.replace("ancien@lire.example", "nouveau@lire.example")


def body(response):
    return html.unescape(response.get_data(as_text=True))


def run(app, *args, data=None):
    if data is None:
        return app.test_cli_runner().invoke(args=list(args))
    path = app.config["UPLOAD_DIR"] + "-import.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(data)
    return app.test_cli_runner().invoke(args=[*args, path])


def contact(db, email):
    return db.scalar(select(Contact).where(Contact.email == email))


def links_by_email(app, db):
    """Invitations of the campaign, with their tokens, as sent (here: logged, the SMTP server is absent)."""
    with app.app_context():
        tokens = {}
        for person in db.scalars(select(Contact).where(Contact.withdrawn_at.is_(None))):
            response = db.scalar(select(Response).where(Response.project_id == person.project_id))
            tokens[person.email] = issue_link(db, person, response)
        db.commit()
        return tokens


def test_a_contact_the_new_import_no_longer_lists_loses_its_links_and_its_emails(app, factory, partner_for, db):
    """Before: the old contact kept its link, its reminders and the receipt with every answer."""
    campaign = factory.campaign(code="clas-retrait")
    factory.project(campaign, caf_number="731")
    assert run(app, "import-projects", "clas-retrait", data=FIRST).exit_code == 0
    old_token = links_by_email(app, db)["ancien@lire.example"]
    old_browser = partner_for(old_token)
    run(app, "send-invitations", "clas-retrait")  # no SMTP server: the invitation waits
    old = contact(db, "ancien@lire.example")
    assert db.scalar(select(EmailLog.status).where(EmailLog.contact_id == old.id)) is EmailStatus.PENDING

    result = run(app, "import-projects", "clas-retrait", data=CHANGED)
    assert result.exit_code == 0, result.output
    assert "1 contact retiré" in result.output
    assert "CLAS-73-020 : ancien@lire.example" in result.output and "ne s’ouvrent plus" in result.output

    assert old_browser.client.get(f"/r/{old_token}").status_code == 404
    assert old_browser.get("/bilan/page/1").status_code != 200  # the browser it had opened is no longer let in
    db.expire_all()
    assert db.scalar(select(EmailLog.status).where(EmailLog.contact_id == old.id)) is EmailStatus.SKIPPED
    run(app, "send-invitations", "clas-retrait", "--retry-failed")
    run(app, "send-reminders", "clas-retrait", "--days-before", "14")
    db.expire_all()
    assert {log.status for log in db.scalars(select(EmailLog).where(EmailLog.contact_id == old.id))} == {EmailStatus.SKIPPED}
    project = db.scalar(select(Project).where(Project.reference == "CLAS-73-020"))
    assert [c.email for c in project.current_contacts] == ["nouveau@lire.example"]
    event = db.scalar(select(ResponseEvent).where(ResponseEvent.kind == EventKind.LINKS_WITHDRAWN))
    assert event.old_value == "ancien@lire.example" and event.reason == "absent du dernier import"

    # The new contact answers and transmits: the receipt goes to it alone.
    new_token = links_by_email(app, db)["nouveau@lire.example"]
    partner = partner_for(new_token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    summary = body(partner.get("/bilan/recapitulatif"))  # it says so before transmitting
    assert "sera envoyé à l’adresse électronique :" in summary and "<li>nouveau@lire.example</li>" in summary
    assert "ancien@lire.example" not in summary
    assert partner.transmit().status_code == 302
    receipts = db.scalars(select(EmailLog).where(EmailLog.kind == "receipt")).all()
    assert [log.contact.email for log in receipts] == ["nouveau@lire.example"]


def test_no_new_link_is_ever_made_for_a_withdrawn_contact(app, factory, clock):
    campaign = factory.campaign()
    response_id, _ = factory.project(campaign, contacts=("parti@structure.example",))
    with app.app_context():
        session = get_session()
        person = session.scalar(select(Contact).where(Contact.email == "parti@structure.example"))
        withdraw_contact(session, person, clock.now)
        session.commit()
        with pytest.raises(DomainError, match="retiré de ce projet"):
            issue_link(session, person, session.get(Response, response_id))


def test_a_dry_run_says_which_contacts_would_be_withdrawn_and_withdraws_none(app, factory, db):
    campaign = factory.campaign(code="clas-essai")
    factory.project(campaign, caf_number="731")
    run(app, "import-projects", "clas-essai", data=FIRST)
    result = run(app, "import-projects", "clas-essai", "--dry-run", data=CHANGED)
    assert result.exit_code == 0, result.output
    assert "qui seraient retirés de leur projet" in result.output and "CLAS-73-020 : ancien@lire.example" in result.output
    db.expire_all()
    assert not contact(db, "ancien@lire.example").is_withdrawn


def test_listing_the_contact_again_gives_it_emails_again_but_not_its_old_links(app, factory, db):
    campaign = factory.campaign(code="clas-retour")
    factory.project(campaign, caf_number="731")
    run(app, "import-projects", "clas-retour", data=FIRST)
    old_token = links_by_email(app, db)["ancien@lire.example"]
    run(app, "import-projects", "clas-retour", data=CHANGED)
    again = run(app, "import-projects", "clas-retour", data=FIRST.replace("ancien@lire.example",
                                                                          "ancien@lire.example nouveau@lire.example"))
    assert "1 contact ajouté" in again.output
    db.expire_all()
    assert not contact(db, "ancien@lire.example").is_withdrawn
    assert app.test_client().get(f"/r/{old_token}").status_code == 404


def test_the_admin_page_reports_the_withdrawn_contacts(app, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    admin = caf_user("admin", None)
    for data in (FIRST, CHANGED):
        admin.get(f"/admin/campagnes/{campaign}/import")
        answer = admin.post(f"/admin/campagnes/{campaign}/import", {"fichier": (io.BytesIO(data.encode()), "p.csv")},
                            content_type="multipart/form-data")
    assert answer.status_code == 200
    assert "1 contact retiré" in body(answer) and "CLAS-73-020 : ancien@lire.example" in body(answer)


def test_a_reviewer_withdraws_one_contacts_links_from_the_project_page(app, factory, partner_for, caf_user, db):
    campaign = factory.campaign()
    response_id, (gone_token, kept_token) = factory.project(campaign, contacts=("parti@structure.example",
                                                                                "reste@structure.example"))
    gone_browser = partner_for(gone_token)
    reviewer = caf_user("reviewer", "731")
    page = reviewer.get(f"/caf/reponses/{response_id}")
    assert "Retirer les liens d’un contact" in body(page)
    gone = contact(db, "parti@structure.example")
    answer = reviewer.post(f"/caf/reponses/{response_id}/retrait-contact",
                           {"contact": str(gone.id), "reason": "a quitté l’association"})
    assert answer.status_code == 302
    shown = body(reviewer.get(f"/caf/reponses/{response_id}"))
    assert "Les liens personnels de parti@structure.example sont retirés" in shown
    assert "Liens d’un contact retirés" in shown and "a quitté l’association" in shown
    assert app.test_client().get(f"/r/{gone_token}").status_code == 404
    assert gone_browser.get("/bilan/page/1").status_code != 200
    assert partner_for(kept_token).get("/bilan/page/1").status_code == 200
    db.expire_all()
    assert contact(db, "parti@structure.example").is_withdrawn
    event = db.scalar(select(ResponseEvent).where(ResponseEvent.kind == EventKind.LINKS_WITHDRAWN))
    assert event.user_id is not None and event.old_value == "parti@structure.example"


def test_withdrawing_needs_a_contact_of_this_project(factory, caf_user, db):
    campaign = factory.campaign()
    response_id, _ = factory.project(campaign)
    _, _ = factory.project(campaign, contacts=("autre@structure.example",))
    reviewer = caf_user("reviewer", "731")
    reviewer.get(f"/caf/reponses/{response_id}")
    other = contact(db, "autre@structure.example")
    for value in ("", str(other.id), "99999999999999999999", "x"):
        answer = reviewer.post(f"/caf/reponses/{response_id}/retrait-contact", {"contact": value})
        assert answer.status_code == 400 and "Choisissez le contact" in body(answer)
    db.expire_all()
    assert not contact(db, "autre@structure.example").is_withdrawn
