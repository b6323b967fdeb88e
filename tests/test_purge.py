"""The purge of personal data: a dry run by default; addresses become pseudonyms, answers and history stay."""
import html
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from survey.models import (
    AccessLink,
    Contact,
    EmailKind,
    EmailLog,
    EmailStatus,
    EventKind,
    LoginAttempt,
    Response,
    ResponseEvent,
    User,
)
from tests.conftest import complete_clas_answers

UTC = UTC
AFTER_RETENTION = datetime(2025, 8, 1, 8, 0, tzinfo=UTC)  # the campaign closed on 15 July 2024; 12 months by default


def text(response):
    return html.unescape(response.get_data(as_text=True))


def bilan(app, factory, partner_for, db, contacts=("direction@asso.example", "benevole@asso.example")):
    campaign = factory.campaign()
    response_id, tokens = factory.project(campaign, contacts=contacts)
    partner = partner_for(tokens[0])
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.save_page(8, {**complete_clas_answers()[8], "document": (io.BytesIO(b"%PDF-1.4 bilan"), "bilan.pdf")})
    assert partner.transmit().status_code == 302
    contact = db.scalar(select(Contact).where(Contact.email == contacts[0]))
    db.add(ResponseEvent(response_id=response_id, kind=EventKind.LINK_SENT, new_value=", ".join(contacts),
                         at=datetime(2024, 7, 2, tzinfo=UTC)))
    db.add(ResponseEvent(response_id=response_id, kind=EventKind.LINKS_WITHDRAWN, old_value=contacts[0],
                         reason="a quitté la structure", at=datetime(2024, 7, 3, tzinfo=UTC)))
    db.add(EmailLog(kind=EmailKind.REMINDER, round="J-7", contact_id=contact.id, response_id=response_id,
                    status=EmailStatus.FAILED, error=f"550 <{contacts[0]}> mailbox unavailable"))
    db.commit()
    return campaign, response_id, tokens


def purge(app, clock, *args):
    clock.set(AFTER_RETENTION)
    return app.test_cli_runner().invoke(args=["purge", *args])


def test_the_dry_run_lists_and_changes_nothing(app, factory, partner_for, db, clock):
    bilan(app, factory, partner_for, db)
    before = sorted(db.scalars(select(Contact.email)).all())
    result = purge(app, clock)
    assert result.exit_code == 0, result.output
    assert "Simulation" in result.output and "adresses de 2 contacts, 2 liens personnels" in result.output
    assert "1 document joint" in result.output
    db.expire_all()
    assert sorted(db.scalars(select(Contact.email)).all()) == before
    assert db.scalar(select(func.count()).select_from(AccessLink)) == 2


def test_nothing_goes_before_the_retention_period(app, factory, partner_for, db, clock):
    bilan(app, factory, partner_for, db)
    clock.set(datetime(2025, 6, 1, tzinfo=UTC))
    result = app.test_cli_runner().invoke(args=["purge", "--apply"])
    assert "Aucune donnée personnelle à supprimer." in result.output
    assert db.scalar(select(func.count()).select_from(AccessLink)) == 2


def test_the_purge_removes_addresses_links_and_documents_and_keeps_the_bilan(app, factory, partner_for, db, clock,
                                                                             caf_user):
    campaign, response_id, tokens = bilan(app, factory, partner_for, db)
    answers_before = dict(db.get(Response, response_id).answers)
    events_before = db.scalar(select(func.count()).select_from(ResponseEvent))
    document = Path(app.config["UPLOAD_DIR"]) / answers_before["document"]["key"]
    assert document.is_file()
    result = purge(app, clock, "--apply")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Supprimé : adresses de 2 contacts, 2 liens personnels")
    db.expire_all()
    emails = db.scalars(select(Contact.email).order_by(Contact.id)).all()
    assert all(email.endswith("@supprime.invalid") for email in emails)
    assert db.scalar(select(func.count()).select_from(AccessLink)) == 0
    reminder = db.scalar(select(EmailLog).where(EmailLog.kind == EmailKind.REMINDER))
    assert "asso.example" not in reminder.error and "@supprime.invalid" in reminder.error
    assert {log.status for log in db.scalars(select(EmailLog))} == {EmailStatus.SKIPPED}
    assert not document.exists()
    response = db.get(Response, response_id)
    assert response.answers == answers_before and response.state.value == "submitted"
    events = db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response_id)).all()
    assert len(events) == events_before
    assert not any("asso.example" in str(event.old_value) + str(event.new_value) + event.actor for event in events)
    withdrawn = next(event for event in events if event.kind is EventKind.LINKS_WITHDRAWN)
    assert withdrawn.old_value.endswith("@supprime.invalid") and withdrawn.reason == "a quitté la structure"
    assert any(event.actor.startswith("partenaire n° ") for event in events)
    assert app.test_client().get(f"/r/{tokens[0]}").status_code == 404
    # What the Caf reads still works, without the addresses.
    clock.set(datetime(2024, 7, 20, tzinfo=UTC))  # before the accounts' own retention for this part
    admin = caf_user("admin", None)
    for url in (f"/caf/reponses/{response_id}", f"/caf/campagnes/{campaign}/tableau-de-bord",
                f"/caf/campagnes/{campaign}/export.csv", f"/caf/campagnes/{campaign}/export.xlsx"):
        page = admin.get(url)
        assert page.status_code == 200 and b"asso.example" not in page.data, url
    assert "Association Les Petits Savants" in admin.get(f"/caf/campagnes/{campaign}/export.csv").data.decode("utf-8-sig")
    again = purge(app, clock, "--apply")
    assert "adresses de 0 contact, 0 lien personnel" in again.output  # only the admin's account, unused since


def test_a_project_still_answering_a_later_campaign_keeps_its_contacts(app, factory, partner_for, db, clock):
    from survey.models import Campaign, Project
    from survey.operations import enrol_project
    campaign, response_id, _ = bilan(app, factory, partner_for, db)
    later = factory.campaign(opens=datetime(2025, 6, 1, tzinfo=UTC), closes=datetime(2025, 7, 15, tzinfo=UTC))
    project = db.get(Project, db.get(Response, response_id).project_id)
    enrol_project(db, db.get(Campaign, later), project)
    db.commit()
    result = purge(app, clock, "--apply")
    assert "adresses de 0 contact, 0 lien personnel" in result.output
    db.expire_all()
    assert sorted(db.scalars(select(Contact.email)).all()) == ["benevole@asso.example", "direction@asso.example"]


def test_caf_accounts_unused_for_long_become_pseudonyms(app, factory, db, clock, caf_user):
    factory.project(factory.campaign(), caf_number="731")
    caf_user("reviewer", "731", sign_in=False)
    admin = caf_user("admin", None, sign_in=False)
    for user in db.scalars(select(User)):
        user.last_sign_in_at = datetime(2024, 1, 1, tzinfo=UTC) if user.role.value == "reviewer" else AFTER_RETENTION
    reviewer = db.scalar(select(User).where(User.email == "reviewer-731@caf.example"))
    db.add(ResponseEvent(response_id=db.scalar(select(Response.id)), kind=EventKind.VALIDATED, user_id=reviewer.id))
    db.commit()
    dry = purge(app, clock)
    assert "1 compte Caf inutilisé" in dry.output and "reviewer-731@caf.example" in dry.output
    result = purge(app, clock, "--apply")
    assert result.exit_code == 0
    db.expire_all()
    gone = db.get(User, reviewer.id)
    assert gone.email == f"compte-{gone.id}@supprime.invalid" and not gone.active and gone.purged_at is not None
    assert not gone.check_password("correct horse battery staple")
    assert db.scalar(select(ResponseEvent).where(ResponseEvent.user_id == gone.id)).actor.startswith("compte supprimé n° ")
    assert db.scalar(select(User).where(User.email == admin.email)).active


def sign_in_records(db):
    db.expire_all()
    return sorted((attempt.email, attempt.address) for attempt in db.scalars(select(LoginAttempt)))


def test_sign_in_records_go_after_their_delay_and_with_their_account(app, factory, db, clock, caf_user):
    """Who tried to sign in, from which IP address: kept 90 days by default (the sign-in guard's memory)."""
    factory.project(factory.campaign(), caf_number="731")
    caf_user("reviewer", "731", sign_in=False)
    caf_user("admin", None, sign_in=False)
    for user in db.scalars(select(User)):
        user.last_sign_in_at = datetime(2024, 1, 1, tzinfo=UTC) if user.role.value == "reviewer" else AFTER_RETENTION
        user.totp_secret, user.recovery_codes = "JBSWY3DPEHPK3PXP" * 2, ["0" * 64]
    db.add_all([
        LoginAttempt(email="admin-national@caf.example", address="192.0.2.10", succeeded=True,
                     at=AFTER_RETENTION - timedelta(days=10)),
        LoginAttempt(email="admin-national@caf.example", address="192.0.2.11", succeeded=True,
                     at=AFTER_RETENTION - timedelta(days=91)),
        LoginAttempt(email="inconnu@ailleurs.example", address="203.0.113.7", at=AFTER_RETENTION - timedelta(days=120)),
        # a recent attempt on an account that goes: it goes with it
        LoginAttempt(email="reviewer-731@caf.example", address="198.51.100.3", at=AFTER_RETENTION - timedelta(days=2)),
    ])
    db.commit()
    before = sign_in_records(db)
    dry = purge(app, clock)
    assert "3 traces de connexion (adresse saisie, adresse IP, date)" in dry.output, dry.output
    assert sign_in_records(db) == before
    result = purge(app, clock, "--apply")
    assert result.exit_code == 0 and "3 traces de connexion" in result.output, result.output
    assert sign_in_records(db) == [("admin-national@caf.example", "192.0.2.10")]
    gone = db.scalar(select(User).where(User.role == "reviewer"))
    assert gone.purged_at is not None and gone.totp_secret is None and gone.recovery_codes is None
    kept = db.scalar(select(User).where(User.email == "admin-national@caf.example"))
    assert kept.totp_secret is not None  # an account in use keeps its second factor
    # The delay is a setting, and the personal-data notice gives it.
    app.config["RETENTION_SIGN_IN_DAYS"] = 7
    assert "1 trace de connexion" in purge(app, clock, "--apply").output
    assert sign_in_records(db) == []
    assert "(adresse électronique saisie, adresse IP, date) : 7 jours" in text(app.test_client().get("/donnees-personnelles"))


def test_the_server_log_names_no_contact_address(app, factory, partner_for, db, clock, caplog, smtp):
    """A receipt that could not leave is logged by its row, not by the partner's address (logs outlive the purge)."""
    caplog.set_level(logging.WARNING)
    for address in ("direction@asso.example", "benevole@asso.example"):
        smtp.refuse(address, f"550 5.1.1 <{address}>: Mailbox unavailable")  # the server names the address
    bilan(app, factory, partner_for, db)
    app.extensions["outbox"].drain(10)
    failures = [record.getMessage() for record in caplog.records if "failed" in record.getMessage()]
    assert failures and all("asso.example" not in message and "contact " in message for message in failures), failures
    assert db.scalar(select(func.count()).select_from(EmailLog).where(EmailLog.status == EmailStatus.FAILED)) >= 2
