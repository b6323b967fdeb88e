"""Caf users' sessions end: on sign-out, new password, deactivation, and after idle and absolute limits."""
from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, CafUser

COOKIE = "clas_session"


@pytest.fixture(autouse=True)
def production_limits(app):
    """The limits a deployment gets without setting anything (the suite's other tests lift them)."""
    from survey.config import build_config
    defaults = build_config({"SECRET_KEY": "x"})
    for name in ("CAF_IDLE_TIMEOUT", "CAF_SESSION_LIFETIME"):
        app.config[name] = defaults[name]
    assert (defaults["CAF_IDLE_TIMEOUT"], defaults["CAF_SESSION_LIFETIME"]) == (timedelta(hours=2), timedelta(hours=12))


def copy_of(app, user):
    """Another browser holding a copy of ``user``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, user.client.get_cookie(COOKIE).value)
    return thief


def test_signing_out_ends_a_copied_session_too(app, caf_user):
    """Before: a copied cookie still opened the Caf's pages after sign-out, for up to 45 days."""
    user = caf_user()
    thief = copy_of(app, user)
    assert thief.get("/caf/").status_code == 200
    user.get("/caf/")
    assert user.post("/deconnexion").status_code == 302
    assert thief.get("/caf/").status_code == 302


def test_signing_out_ends_every_session_of_the_user(app, caf_user):
    user = caf_user()
    other = CafUser(app.test_client(), user.email)
    other.get("/connexion")
    other.client.post("/connexion", data={"csrf_token": other.csrf(), "email": user.email, "password": PASSWORD})
    assert other.get("/caf/").status_code == 200
    user.get("/caf/")
    user.post("/deconnexion")
    assert other.get("/caf/").status_code == 302


@pytest.mark.parametrize("command", [["reset-password", "{email}", "--password", "une toute autre phrase secrète"],
                                     ["deactivate-user", "{email}"]])
def test_a_new_password_or_a_deactivation_ends_every_session(app, caf_user, command):
    user = caf_user()
    thief = copy_of(app, user)
    result = app.test_cli_runner().invoke(args=[part.format(email=user.email) for part in command])
    assert result.exit_code == 0, result.output
    assert user.get("/caf/").status_code == 302
    assert thief.get("/caf/").status_code == 302


def test_an_old_style_session_without_a_version_is_refused(app, caf_user):
    user = caf_user()
    with user.client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].partition(".")[0]
    assert user.get("/caf/").status_code == 302


def test_a_caf_session_ends_after_two_idle_hours(caf_user, clock):
    user = caf_user()
    clock.set(clock.now + timedelta(hours=1, minutes=59))
    assert user.get("/caf/").status_code == 200
    clock.set(clock.now + timedelta(hours=1, minutes=59))  # still within two hours of the last request
    assert user.get("/caf/").status_code == 200
    clock.set(clock.now + timedelta(hours=2, minutes=1))
    answer = user.get("/caf/")
    assert answer.status_code == 302 and "/connexion" in answer.location


def test_a_caf_session_ends_twelve_hours_after_signing_in_even_when_used(caf_user, clock):
    user = caf_user()
    for _ in range(11):
        clock.set(clock.now + timedelta(hours=1))
        assert user.get("/caf/").status_code == 200
    clock.set(clock.now + timedelta(hours=1, minutes=1))
    assert user.get("/caf/").status_code == 302


def test_the_limits_are_settings(app, caf_user, clock):
    app.config["CAF_IDLE_TIMEOUT"] = timedelta(minutes=10)
    user = caf_user()
    clock.set(clock.now + timedelta(minutes=11))
    assert user.get("/caf/").status_code == 302


def test_a_partner_keeps_a_long_session(factory, partner_for, clock):
    """The personal link's session is not a Caf user's: it lasts weeks (see access.py)."""
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    clock.set(clock.now + timedelta(days=3))
    assert partner.get("/bilan/page/1").status_code == 200
