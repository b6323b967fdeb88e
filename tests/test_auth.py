"""Signing in and out, throttling, and the user commands."""
import html

from sqlalchemy import select

from survey.models import LoginAttempt, Role, User
from tests.conftest import PASSWORD, CafUser


def body(response):
    return html.unescape(response.get_data(as_text=True))


def sign_in(app, email, password, address="10.0.0.1"):
    user = CafUser(app.test_client(), email)
    user.get("/connexion")
    return user, user.client.post("/connexion", data={"csrf_token": user.csrf(), "email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": address})


def test_sign_in_with_a_wrong_password_says_so_in_french(app, caf_user):
    caf_user(sign_in=False)
    _, answer = sign_in(app, "reviewer-731@caf.example", "mauvais mot de passe")
    assert answer.status_code == 401 and "Adresse électronique ou mot de passe incorrect." in body(answer)
    _, unknown = sign_in(app, "personne@caf.example", PASSWORD)
    assert unknown.status_code == 401 and "Adresse électronique ou mot de passe incorrect." in body(unknown)


def test_guesses_from_one_address_are_slowed_without_locking_the_account(app, caf_user, db):
    caf_user(sign_in=False)
    for attempt in range(5):
        sign_in(app, "reviewer-731@caf.example", f"faux-{attempt}", address="10.6.6.6")
    _, blocked = sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.6.6.6")
    assert blocked.status_code == 429 and "Trop de tentatives" in body(blocked)
    assert db.scalar(select(LoginAttempt).where(LoginAttempt.email == "reviewer-731@caf.example")) is not None
    # The account itself is not locked: the owner, elsewhere, signs in.
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.0.0.1")[1].status_code == 302


def test_strangers_cannot_lock_the_owner_out_of_their_usual_address(app, caf_user):
    """Before: five wrong passwords from anywhere blocked the account for everyone for 15 minutes."""
    caf_user(sign_in=False)
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.0.0.1")[1].status_code == 302
    for attempt in range(60):  # a botnet: each address stays under its own limit
        sign_in(app, "reviewer-731@caf.example", f"faux-{attempt}", address=f"10.7.{attempt // 4}.{attempt % 4}")
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.0.0.1")[1].status_code == 302
    # An address the account never signed in from waits while the account is under attack.
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.9.9.9")[1].status_code == 429


def test_sign_in_is_throttled_per_address(app, caf_user):
    caf_user(sign_in=False)
    for attempt in range(20):
        sign_in(app, f"inconnu{attempt}@caf.example", "x" * 12, address="10.1.1.1")
    _, blocked = sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.1.1.1")
    assert blocked.status_code == 429
    _, elsewhere = sign_in(app, "reviewer-731@caf.example", PASSWORD, address="10.2.2.2")
    assert elsewhere.status_code == 302


def test_the_throttle_forgets_after_a_quarter_of_an_hour(app, caf_user, clock):
    from datetime import timedelta
    caf_user(sign_in=False)
    for _attempt in range(5):
        sign_in(app, "reviewer-731@caf.example", "faux")
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD)[1].status_code == 429
    clock.set(clock.now + timedelta(minutes=16))
    assert sign_in(app, "reviewer-731@caf.example", PASSWORD)[1].status_code == 302


def test_an_unknown_account_costs_one_password_hash_like_a_real_one(app, caf_user, monkeypatch):
    """Before: the hash ran only for real accounts (159–227 ms against 17–32 ms), which listed them."""
    import time

    import survey.operations.users as users
    caf_user(sign_in=False)
    checked = []
    real_check = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda *a: checked.append(a[0]) or real_check(*a))
    timings = {}
    for email in ("reviewer-731@caf.example", "personne@caf.example"):
        sign_in(app, email, "un essai au hasard")  # the decoy hash is made once
        started = time.perf_counter()
        assert sign_in(app, email, "un autre essai au hasard")[1].status_code == 401
        timings[email] = time.perf_counter() - started
    assert len(checked) == 4 and all(h.startswith("scrypt:") for h in checked)
    assert timings["personne@caf.example"] > timings["reviewer-731@caf.example"] / 3, timings


def test_sign_out_ends_the_session(caf_user):
    user = caf_user()
    assert user.get("/caf/").status_code == 200
    user.get("/caf/")
    assert user.post("/deconnexion").status_code == 302
    assert user.get("/caf/").status_code == 302


def test_sign_out_needs_a_csrf_token(caf_user):
    user = caf_user()
    assert user.client.post("/deconnexion").status_code == 400
    assert user.get("/caf/").status_code == 200


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(app, caf_user):
    user = caf_user()
    result = app.test_cli_runner().invoke(args=["deactivate-user", user.email])
    assert result.exit_code == 0
    assert user.get("/caf/").status_code == 302
    assert sign_in(app, user.email, PASSWORD)[1].status_code == 401


def test_next_never_redirects_off_site(app, caf_user):
    caf_user(sign_in=False)
    user = CafUser(app.test_client(), "reviewer-731@caf.example")
    user.get("/connexion")
    answer = user.client.post("/connexion?next=//evil.example/x", data={"csrf_token": user.csrf(), "email": user.email,
                                                                         "password": PASSWORD})
    assert answer.status_code == 302 and answer.location == "/caf/"


def test_user_commands(app, db):
    from survey.operations import get_or_create_caf
    get_or_create_caf(db, "731", "Caf de la Savoie")
    db.commit()
    cli = app.test_cli_runner()
    short = cli.invoke(args=["create-user", "a@caf.example", "--role", "reviewer", "--caf", "731", "--password", "court"])
    assert short.exit_code == 1 and "au moins 12 caractères" in short.output
    no_caf = cli.invoke(args=["create-user", "a@caf.example", "--role", "reviewer", "--password", PASSWORD])
    assert no_caf.exit_code == 1 and "rattaché à une Caf" in no_caf.output
    created = cli.invoke(args=["create-user", "A@Caf.example", "--role", "reviewer", "--caf", "731", "--password", PASSWORD])
    assert created.exit_code == 0, created.output
    user = db.scalar(select(User).where(User.email == "a@caf.example"))
    assert user.role is Role.REVIEWER and user.caf.number == "731"
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    twice = cli.invoke(args=["create-user", "a@caf.example", "--role", "admin", "--password", PASSWORD])
    assert twice.exit_code == 1
    assert cli.invoke(args=["set-role", "a@caf.example", "--role", "admin"]).exit_code == 0
    db.expire_all()
    user = db.scalar(select(User).where(User.email == "a@caf.example"))
    assert user.role is Role.ADMIN and user.caf_id is None
    assert cli.invoke(args=["reset-password", "a@caf.example", "--password", "un autre mot de passe"]).exit_code == 0
    assert sign_in(app, "a@caf.example", "un autre mot de passe")[1].status_code == 302
    assert cli.invoke(args=["deactivate-user", "personne@caf.example"]).exit_code == 1
