"""The second factor (TOTP) of Caf users: enabling it, signing in with it, recovery codes, required for administrators."""
import re
from datetime import timedelta

import pyotp
from sqlalchemy import select

from survey.app import PUBLIC_BLUEPRINTS
from survey.models import User
from tests.conftest import PASSWORD, CafUser

SETUP = "/compte/double-authentification"
SECRET = re.compile(r"<code class=\"secret\">([A-Z2-7 ]+)</code>")
CODES = re.compile(r"<li><code>([0-9a-f-]{24})</code></li>")


def enable(user, clock):
    """Enable TOTP as the user would: read the key from the page, type the app's code. Returns (secret, codes)."""
    page = user.get(SETUP)
    assert page.status_code == 200 and 'src="data:image/svg+xml' in user.html
    secret = SECRET.search(user.html).group(1).replace(" ", "")
    done = user.post(SETUP, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert done.status_code == 200, user.html
    clock.set(clock.now + timedelta(seconds=30))  # the app shows the next code
    return secret, CODES.findall(user.html)


def password_step(app, email, address="10.0.0.1"):
    browser = CafUser(app.test_client(), email)
    browser.get("/connexion")
    answer = browser.client.post("/connexion", data={"csrf_token": browser.csrf(), "email": email, "password": PASSWORD},
                                 environ_base={"REMOTE_ADDR": address})
    return browser, answer


def code_step(browser, code):
    browser.get("/connexion/code")
    return browser.client.post("/connexion/code", data={"csrf_token": browser.csrf(), "code": code})


def test_a_reviewer_enables_it_and_then_signs_in_with_a_code(app, caf_user, clock, db):
    user = caf_user()
    secret, codes = enable(user, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.scalar(select(User).where(User.email == user.email))
    assert stored.totp_secret == secret and all(code not in str(stored.recovery_codes) for code in codes)

    browser, answer = password_step(app, user.email)
    assert answer.status_code == 302 and "/connexion/code" in answer.location
    assert browser.get("/caf/").status_code == 302  # the password alone opens nothing
    wrong = code_step(browser, "000000")
    assert wrong.status_code == 401 and "pas le bon" in wrong.get_data(as_text=True)
    assert code_step(browser, pyotp.TOTP(secret).at(clock.now)).status_code == 302
    assert browser.get("/caf/").status_code == 200


def test_a_code_serves_once(app, caf_user, clock):
    user = caf_user()
    secret, _ = enable(user, clock)
    code = pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30))  # the one that enabled it, still in the window
    browser, _ = password_step(app, user.email)
    assert code_step(browser, code).status_code == 401


def test_a_recovery_code_signs_in_once(app, caf_user, clock):
    user = caf_user()
    _, codes = enable(user, clock)
    browser, _ = password_step(app, user.email)
    assert code_step(browser, codes[3].upper()).status_code == 302
    again, _ = password_step(app, user.email)
    assert code_step(again, codes[3]).status_code == 401


def test_enabling_it_ends_the_other_sessions(app, caf_user, clock):
    user = caf_user()
    thief = app.test_client()
    thief.set_cookie("clas_session", user.client.get_cookie("clas_session").value)
    enable(user, clock)
    assert thief.get("/caf/").status_code == 302
    assert user.get("/caf/").status_code == 200


def test_the_code_page_needs_the_password_first_and_expires(app, caf_user, clock):
    user = caf_user()
    secret, _ = enable(user, clock)
    assert app.test_client().get("/connexion/code").status_code == 302
    browser, _ = password_step(app, user.email)
    browser.get("/connexion/code")
    clock.set(clock.now + timedelta(minutes=6))
    late = browser.client.post("/connexion/code", data={"csrf_token": browser.csrf(),
                                                        "code": pyotp.TOTP(secret).at(clock.now)})
    assert late.status_code == 302 and late.location.endswith("/connexion")


def test_wrong_codes_are_throttled_like_passwords(app, caf_user, clock):
    user = caf_user()
    secret, _ = enable(user, clock)
    browser, _ = password_step(app, user.email)
    for attempt in range(5):
        code_step(browser, f"{attempt:06d}")
    assert code_step(browser, pyotp.TOTP(secret).at(clock.now)).status_code == 429


def test_a_wrong_code_at_enabling_says_so_and_enables_nothing(caf_user, db):
    user = caf_user()
    user.get(SETUP)
    answer = user.post(SETUP, {"code": "123456"})
    assert answer.status_code == 400 and "ne correspond pas" in answer.get_data(as_text=True)
    assert db.scalar(select(User).where(User.email == user.email)).totp_secret is None


def test_a_reviewer_may_turn_it_off_with_a_code(caf_user, clock, db):
    user = caf_user()
    secret, _ = enable(user, clock)
    clock.set(clock.now + timedelta(minutes=1))
    assert user.post(SETUP, {"code": pyotp.TOTP(secret).at(clock.now)}).status_code == 302, user.html
    assert db.scalar(select(User).where(User.email == user.email)).totp_secret is None


def test_administrators_must_enable_it_when_the_setting_asks(app, caf_user, clock):
    app.config["ADMIN_SECOND_FACTOR"] = True
    admin = caf_user("admin", None)
    for url in ("/caf/", "/admin/"):
        answer = admin.get(url)
        assert answer.status_code == 302 and answer.location.endswith(SETUP)
    secret, _ = enable(admin, clock)
    assert admin.get("/admin/").status_code == 200
    assert "obligatoire" in admin.get(SETUP).get_data(as_text=True)
    # Required: it cannot be turned off.
    admin.post(SETUP, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert admin.get("/admin/").status_code == 200
    # A reviewer is not forced.
    assert caf_user().get("/caf/").status_code == 200


def test_every_caf_page_waits_for_an_administrators_second_factor(app, caf_user):
    app.config["ADMIN_SECOND_FACTOR"] = True
    admin = caf_user("admin", None)
    walked = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] or None
        if blueprint in PUBLIC_BLUEPRINTS or "GET" not in rule.methods:
            continue
        url = rule.build({name: 1 for name in rule.arguments})[1]
        answer = admin.get(url)
        assert answer.status_code == 302 and answer.location.endswith(SETUP), url
        walked.add(blueprint)
    assert {"review", "reports", "emails", "reading", "preview", "admin"} <= walked


def test_the_command_turns_it_off_for_a_user_who_lost_everything(app, caf_user, clock, db):
    user = caf_user()
    enable(user, clock)
    result = app.test_cli_runner().invoke(args=["reset-second-factor", user.email])
    assert result.exit_code == 0 and "désactivée" in result.output
    assert user.get("/caf/").status_code == 302  # their sessions ended
    db.expire_all()
    assert db.scalar(select(User).where(User.email == user.email)).totp_secret is None
    browser, answer = password_step(app, user.email)
    assert answer.status_code == 302 and answer.location == "/caf/"
    assert app.test_cli_runner().invoke(args=["reset-second-factor", "personne@caf.example"]).exit_code == 1
