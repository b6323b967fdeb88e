"""Caf users from the admin pages: open an account, change a role, deactivate, send a password link."""
import html
import re

from sqlalchemy import select

from survey.models import Role, User
from tests.conftest import PASSWORD

LINK = re.compile(r"http://bilan\.test(/connexion/mot-de-passe/[A-Za-z0-9_.-]+)")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def user(db, email):
    db.expire_all()
    return db.scalar(select(User).where(User.email == email))


def link_in(message):
    body = message.get_payload()[0].get_payload(decode=True).decode()
    return LINK.search(body).group(1)


def test_an_administrator_opens_a_reviewer_account_who_chooses_a_password(app, smtp, factory, caf_user, db):
    factory.project(factory.campaign(), caf_number="974", caf_name="Caf de La Réunion")
    admin = caf_user("admin", None)
    created = admin.post("/admin/utilisateurs", {"email": "Agent@Caf974.example", "name": "Agent Réunion",
                                                 "role": "reviewer", "caf": "974"}, from_page="/admin/utilisateurs")
    assert created.status_code == 302
    account = user(db, "agent@caf974.example")
    assert account.role is Role.REVIEWER and account.caf.number == "974" and account.name == "Agent Réunion"
    (message,) = smtp.messages
    assert message["To"] == "agent@caf974.example" and "votre accès Caf" in str(message["Subject"])
    path = link_in(message)
    browser = app.test_client()
    page = browser.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    mismatch = browser.post(path, data={"csrf_token": token, "password": PASSWORD, "confirmation": "autre chose"})
    assert mismatch.status_code == 400 and "Erreur : " in text(mismatch) and "ne sont pas identiques" in text(mismatch)
    short = browser.post(path, data={"csrf_token": token, "password": "court", "confirmation": "court"})
    assert short.status_code == 400 and "au moins 12 caractères" in text(short)
    chosen = browser.post(path, data={"csrf_token": token, "password": PASSWORD, "confirmation": PASSWORD})
    assert chosen.status_code == 302 and user(db, "agent@caf974.example").check_password(PASSWORD)
    assert browser.get(path).status_code == 404  # used once
    browser.get("/connexion")
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/connexion").get_data(as_text=True)).group(1)
    signed = browser.post("/connexion", data={"csrf_token": token, "email": "agent@caf974.example", "password": PASSWORD})
    assert signed.status_code == 302 and user(db, "agent@caf974.example").last_sign_in_at is not None


def test_every_error_of_the_account_form_is_shown_at_once_and_nothing_is_created(app, factory, caf_user, db):
    admin = caf_user("admin", None)
    refused = admin.post("/admin/utilisateurs", {"email": "pas-une-adresse", "name": "x" * 201, "role": "reviewer",
                                                 "caf": "999"}, from_page="/admin/utilisateurs")
    page = text(refused)
    assert refused.status_code == 400 and "<title>Erreur : " in page and "3 erreurs empêchent" in page
    for part in ("adresse électronique valide", "200 caractères au plus", "Choisissez la Caf de l’instructeur"):
        assert part in page
    assert 'value="pas-une-adresse"' in page
    assert user(db, "pas-une-adresse") is None


def test_an_administrator_changes_a_role_and_deactivates_an_account(app, factory, caf_user, db):
    factory.project(factory.campaign(), caf_number="731")
    reviewer = caf_user("reviewer", "731")
    admin = caf_user("admin", None)
    target = user(db, reviewer.email)
    promoted = admin.post(f"/admin/utilisateurs/{target.id}/role", {"role": "admin", "caf": ""},
                          from_page="/admin/utilisateurs")
    assert promoted.status_code == 302 and user(db, reviewer.email).role is Role.ADMIN
    back = admin.post(f"/admin/utilisateurs/{target.id}/role", {"role": "reviewer", "caf": ""},
                      from_page="/admin/utilisateurs")
    assert back.status_code == 400 and "rattaché à une Caf existante" in text(back)
    assert user(db, reviewer.email).role is Role.ADMIN
    me = user(db, admin.email)
    assert admin.post(f"/admin/utilisateurs/{me.id}/desactivation", from_page="/admin/utilisateurs").status_code == 400
    assert user(db, admin.email).active
    off = admin.post(f"/admin/utilisateurs/{target.id}/desactivation", from_page="/admin/utilisateurs")
    assert off.status_code == 302 and not user(db, reviewer.email).active
    assert reviewer.get("/caf/").status_code == 302  # signed out: the account no longer loads


def test_a_password_link_is_refused_once_the_password_changed_or_when_forged(app, smtp, factory, caf_user, db):
    factory.project(factory.campaign(), caf_number="731")
    reviewer = caf_user("reviewer", "731")
    admin = caf_user("admin", None)
    target = user(db, reviewer.email)
    assert admin.post(f"/admin/utilisateurs/{target.id}/lien", from_page="/admin/utilisateurs").status_code == 302
    path = link_in(smtp.messages[-1])
    assert app.test_client().get(path[:-3] + "xyz").status_code == 404
    cli = app.test_cli_runner().invoke(args=["reset-password", reviewer.email, "--password", "another long password"])
    assert cli.exit_code == 0, cli.output
    assert app.test_client().get(path).status_code == 404


def test_a_link_that_cannot_leave_says_so(app, factory, caf_user, db):
    factory.project(factory.campaign(), caf_number="731")
    reviewer = caf_user("reviewer", "731")
    admin = caf_user("admin", None)
    target = user(db, reviewer.email)
    sent = admin.post(f"/admin/utilisateurs/{target.id}/lien", from_page="/admin/utilisateurs")
    assert sent.status_code == 302
    assert "n’a pas pu être envoyé" in text(admin.get("/admin/utilisateurs"))
