"""Hostile and random input on every form: never a 500, never anything invalid stored."""
import itertools
import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from survey.engine.definition import build_definition
from survey.engine.forms.validators import Email, InseeCommune
from survey.models import Response
from tests.conftest import CLAS, TESTS, complete_clas_answers

DEFINITION = build_definition(CLAS)
SERIAL = itertools.count()
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=200),
    st.just("\x00\x01\x02\r\n\t"), st.just("=cmd|' /C calc'!A0"), st.just("<script>alert(1)</script>"),
    st.just("a" * 30_000), st.just("../../etc/passwd"), st.just("é" * 600), st.just("2A004"), st.just("20004"),
)
field_names = st.sampled_from(sorted({name for page in DEFINITION.pages for q in page.questions
                                      for name in q.build_fields()} | {"version", "action", "csrf_token", "extra"}))
form_data = st.dictionaries(field_names, st.one_of(hostile_text, st.lists(hostile_text, max_size=3)), max_size=12)


def assert_valid(answers: dict, definition=DEFINITION):
    """Everything stored is a value its question accepts."""
    for question in definition.questions.values():
        value = answers.get(question.code)
        if value is None:
            continue
        kind = question.name
        options = question.options
        if kind == "number":
            assert isinstance(value, (int, float)) and not isinstance(value, bool)
            assert options["min"] is None or value >= options["min"]
            assert options["max"] is None or value <= options["max"]
            assert not options["integer"] or isinstance(value, int)
        elif kind == "date":
            day = date.fromisoformat(value)
            assert (options["min"] or "0000") <= day.isoformat() <= (options["max"] or "9999")
        elif kind in ("single_choice", "yes_no"):
            assert value in question.option_codes()
        elif kind == "multiple_choice":
            assert value and set(value) <= set(question.option_codes())
        elif kind == "matrix":
            assert set(value) <= {r["code"] for r in question.rows}
            assert set(value.values()) <= {c["code"] for c in question.columns}
        elif kind == "file":
            assert set(value) == {"key", "name", "size", "mime"}
        else:
            assert isinstance(value, str) and value and "\x00" not in value
            limit = question.options.get("max_length") or 500
            assert len(value) <= limit
            if kind == "siret":
                assert stdnum_siret.is_valid(value)
            if kind == "siren":
                assert stdnum_siren.is_valid(value)
            if kind == "email":
                assert Email().regex.fullmatch(value)
            if kind == "insee_code":
                assert InseeCommune.regex.fullmatch(value) and not value.startswith("20")
            if kind == "postal_code":
                assert len(value) == 5 and value.isdigit()


@pytest.fixture
def partner(factory, partner_for):
    response_id, (token,) = factory.project(factory.campaign())
    return response_id, partner_for(token)


@FUZZ
@given(number=st.integers(min_value=-2, max_value=10), data=form_data, keep_tokens=st.booleans())
def test_questionnaire_pages_never_fail_and_store_only_valid_answers(partner, db, number, data, keep_tokens):
    response_id, browser = partner
    browser.get("/bilan/page/1")
    hidden = browser.hidden() if keep_tokens else {}
    answer = browser.client.post(f"/bilan/page/{number}", data={**data, **hidden}, content_type="multipart/form-data")
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    db.expire_all()
    response = db.get(Response, response_id)
    assert_valid(response.answers)
    for entry in response.invalid.values():
        assert set(entry) == {"value", "errors"} and entry["errors"]


SEJOURS = build_definition(json.loads((TESTS / "definitions" / "sejours-2025.json").read_text(encoding="utf-8")))
numberish = st.one_of(hostile_text, st.from_regex(r"-?[0-9 ]{1,6}([,.][0-9]{1,3})?", fullmatch=True),
                      st.from_regex(r"[0-3]?[0-9]/[01]?[0-9]/(19|20)[0-9]{2}", fullmatch=True),
                      st.sampled_from(["nuitees", "journees", "enfants", "ados", "handicap", "60", "6", "29/02/2025"]))
sejours_form = st.dictionaries(
    st.sampled_from(sorted({name for page in SEJOURS.pages for q in page.questions for name in q.build_fields()})),
    st.one_of(numberish, st.lists(numberish, max_size=5)), max_size=14)


@pytest.fixture
def sejours_partner(factory, partner_for, clock):
    clock.set(datetime(2025, 7, 20, tzinfo=UTC))
    campaign = factory.campaign(SEJOURS_RAW, opens=datetime(2025, 6, 1, tzinfo=UTC),
                                closes=datetime(2025, 12, 31, tzinfo=UTC))
    response_id, (token,) = factory.project(campaign)
    return response_id, partner_for(token)


SEJOURS_RAW = json.loads((TESTS / "definitions" / "sejours-2025.json").read_text(encoding="utf-8"))


@FUZZ
@given(number=st.integers(min_value=1, max_value=3), data=sejours_form)
def test_numbers_dates_and_conditions_never_fail_and_store_only_valid_visible_answers(sejours_partner, db, number, data):
    from survey.engine.answers import is_visible
    response_id, browser = sejours_partner
    answer = browser.save_page(number, data)
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    db.expire_all()
    response = db.get(Response, response_id)
    assert_valid(response.answers, SEJOURS)
    for code in response.answers:
        question = SEJOURS.questions.get(SEJOURS.owner_of[code])
        assert is_visible(question, response.answers), f"{code} is stored while hidden"


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["version", "csrf_token", "x"]), hostile_text, max_size=3))
def test_transmission_and_carry_over_never_fail(partner, db, data):
    response_id, browser = partner
    browser.get("/bilan/page/1")
    for url in ("/bilan/transmettre", "/bilan/reprise"):
        answer = browser.client.post(url, data={**browser.hidden(), **data})
        assert answer.status_code < 500
    db.expire_all()
    assert db.get(Response, response_id).state.value == "not_started"


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["email", "password", "csrf_token"]), hostile_text, max_size=3))
def test_sign_in_never_fails(app, data):
    client = app.test_client()
    assert client.post("/connexion", data=data).status_code in (400, 401, 429)


@FUZZ
@given(data=form_data, extra=st.dictionaries(st.sampled_from(["reason", "until", "questions", "message-qpv", "caf",
                                                              "sep", "valeurs"]),
                                             st.one_of(hostile_text, st.lists(hostile_text, max_size=3)), max_size=5),
       target=st.sampled_from(["pages/1", "pages/8", "correction", "validation", "reouverture", "delai"]))
def test_reviewer_forms_never_fail(factory, partner_for, caf_user, db, data, extra, target):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number in (2, 3):
        partner.save_page(number, complete_clas_answers()[number])
    reviewer = caf_user("admin", None, email=f"admin-{next(SERIAL)}@caf.example")
    reviewer.get(f"/caf/reponses/{response_id}")
    answer = reviewer.client.post(f"/caf/reponses/{response_id}/{target}",
                                  data={**data, **extra, "csrf_token": reviewer.csrf()}, content_type="multipart/form-data")
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    db.expire_all()
    assert_valid(db.get(Response, response_id).answers)


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["definition", "code", "title", "opens", "closes"]), hostile_text, max_size=5),
       csv_bytes=st.binary(max_size=2000))
def test_admin_forms_never_fail(factory, caf_user, data, csv_bytes):
    import io
    campaign = factory.campaign()
    admin = caf_user("admin", None, email=f"a-{next(SERIAL)}@caf.example")
    admin.get("/admin/")
    assert admin.client.post("/admin/campagnes", data={**data, "csrf_token": admin.csrf()}).status_code < 500
    answer = admin.client.post(f"/admin/campagnes/{campaign}/import", content_type="multipart/form-data",
                               data={"csrf_token": admin.csrf(), "fichier": (io.BytesIO(csv_bytes), "f.csv")})
    assert answer.status_code < 500


# -- every GET route, as a reviewer and as an administrator -------------------------------
SOURCES = Path(__file__).parent.parent / "survey" / "blueprints"
# Every query parameter any view reads, found in the views' source so that a new one is fuzzed too.
QUERY_PARAMETERS = sorted({name for source in SOURCES.glob("*.py")
                           for name in re.findall(r"request\.args\.get(?:list)?\(\"(\w+)\"", source.read_text())}
                          | {"next", "x"})
PATH_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
ids = st.one_of(st.sampled_from([1, 2, 3]), st.integers(min_value=-3, max_value=2**70))
path_texts = st.one_of(st.sampled_from(["document", "inconnu"]), hostile_text.filter(lambda t: "/" not in t and t))
queries = st.dictionaries(st.sampled_from(QUERY_PARAMETERS),
                          st.one_of(hostile_text, st.integers(min_value=-2**70, max_value=2**70).map(str)), max_size=6)


def get_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint != "static"]


def fill(rule, number, text) -> str:
    """The rule's path with ``number`` for every int argument and ``text`` (quoted) for the others."""
    def value(match):
        return str(number) if match.group(1) == "int" else quote(text, safe="")
    return PATH_ARGUMENT.sub(value, rule.rule)


@pytest.fixture(params=["reviewer", "admin"])
def signed_in(request, factory, partner_for, caf_user):
    """A Caf user of either role, and a campaign with an answered project to look at."""
    campaign = factory.campaign()
    _, (token,) = factory.project(campaign)
    partner_for(token).save_page(2, complete_clas_answers()[2])
    return caf_user(request.param, "731" if request.param == "reviewer" else None,
                    email=f"{request.param}-{next(SERIAL)}@caf.example")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(number=ids, text=path_texts, query=queries)
def test_every_get_route_and_parameter_never_fails(app, signed_in, caplog, number, text, query):
    caplog.clear()
    for rule in get_rules(app):
        url = fill(rule, number, text)
        answer = signed_in.client.get(url, query_string=query)
        assert answer.status_code < 500, (url, query, answer.get_data(as_text=True)[:300])
        answer.close()
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, caplog.text
