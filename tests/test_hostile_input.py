"""Hostile input found in the attacks of issue 16: each answers a French 400/404 page and logs no traceback."""
import html
import logging

import pytest

from tests.conftest import PASSWORD, CafUser

BIG = 2**31  # one above PostgreSQL's integer
HUGE = 10**30


def body(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def quiet(caplog):
    """Fails the test if anything logged a traceback (or an error)."""
    caplog.set_level(logging.WARNING)
    yield
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


def test_a_line_break_in_next_goes_to_the_caf_home(app, caf_user, quiet):
    caf_user(sign_in=False)
    for target in ("/caf/\r\nSet-Cookie: x=1", "/\nevil", "/caf/\tx", "/\\evil.example"):
        user = CafUser(app.test_client(), "reviewer-731@caf.example")
        user.get("/connexion")
        answer = user.client.post("/connexion", query_string={"next": target},
                                  data={"csrf_token": user.csrf(), "email": user.email, "password": PASSWORD})
        assert answer.status_code == 302 and answer.location == "/caf/", target
        assert "x=1" not in str(answer.headers)


def test_an_encoded_line_break_in_next_stays_encoded(app, caf_user, quiet):
    caf_user(sign_in=False)
    user = CafUser(app.test_client(), "reviewer-731@caf.example")
    user.get("/connexion")
    answer = user.client.post("/connexion?next=/caf/%250d%250aSet-Cookie:x=1",
                              data={"csrf_token": user.csrf(), "email": user.email, "password": PASSWORD})
    assert answer.status_code == 302 and "\r" not in answer.location and "\n" not in answer.location
    assert "x" not in answer.headers.getlist("Set-Cookie")[0].split("=")[0]


def test_a_nul_byte_in_next_is_a_french_400(app, caf_user, quiet):
    caf_user(sign_in=False)
    user = CafUser(app.test_client(), "reviewer-731@caf.example")
    user.get("/connexion")
    answer = user.client.post("/connexion?next=/caf/%00", data={"csrf_token": user.csrf(), "email": user.email,
                                                                 "password": PASSWORD})
    assert answer.status_code == 400 and "Demande non valide" in body(answer)


def test_a_nul_byte_in_the_sign_in_email_is_a_french_400(app, caf_user, quiet):
    caf_user(sign_in=False)
    user = CafUser(app.test_client(), "reviewer-731@caf.example")
    user.get("/connexion")
    answer = user.client.post("/connexion", data={"csrf_token": user.csrf(), "email": "reviewer-731@caf.example\x00",
                                                   "password": PASSWORD})
    assert answer.status_code == 400 and "caractère invalide" in body(answer)


@pytest.mark.parametrize("parameter", ["q", "commune", "etat", "tri", "page"])
def test_a_nul_byte_in_a_list_filter_is_a_french_400(factory, caf_user, quiet, parameter):
    campaign = factory.campaign()
    factory.project(campaign)
    reviewer = caf_user()
    answer = reviewer.get(f"/caf/campagnes/{campaign}?{parameter}=Chamb%00ery")
    assert answer.status_code == 400 and "Demande non valide" in body(answer)


@pytest.mark.parametrize("role", ["reviewer", "admin"])
@pytest.mark.parametrize("path", ["/caf/campagnes/{id}", "/caf/reponses/{id}", "/caf/campagnes/{id}/export.csv",
                                  "/caf/campagnes/{id}/export.xlsx", "/caf/campagnes/{id}/documents.zip",
                                  "/caf/campagnes/{id}/tableau-de-bord", "/caf/reponses/{id}/pages/{id}",
                                  "/admin/campagnes/{id}/import"])
def test_ids_beyond_the_databases_integers_are_a_french_404(factory, caf_user, quiet, role, path):
    factory.campaign()
    user = caf_user(role, "731" if role == "reviewer" else None)
    for number in (BIG, HUGE):
        answer = user.get(path.format(id=number))
        assert answer.status_code == 404 and "Page introuvable" in body(answer), (path, number)
