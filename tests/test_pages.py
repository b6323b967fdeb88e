"""Page structure people rely on: labels, fieldsets, error summary, French error pages."""
import html
import os
import re
from datetime import UTC
from html.parser import HTMLParser

import pytest

from survey import create_app
from survey.config import ConfigError
from tests.conftest import ATELIER


class Structure(HTMLParser):
    """Collects inputs, labels and the fieldset/legend each input sits in."""

    def __init__(self):
        super().__init__()
        self.inputs, self.labels, self.ids = [], set(), []
        self.fieldsets = []  # stack of {"legend": bool}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "fieldset":
            self.fieldsets.append({"legend": False})
        elif tag == "legend" and self.fieldsets:
            self.fieldsets[-1]["legend"] = True
        elif tag == "label" and "for" in attrs:
            self.labels.add(attrs["for"])
        elif tag in ("input", "textarea", "select") and attrs.get("type") not in ("hidden", "submit"):
            in_legend_fieldset = bool(self.fieldsets) and all(f["legend"] for f in self.fieldsets)
            self.inputs.append((attrs, in_legend_fieldset))

    def handle_endtag(self, tag):
        if tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()


def parse(page_html):
    structure = Structure()
    structure.feed(page_html)
    return structure


@pytest.mark.parametrize("number", range(1, 9))
def test_every_input_of_the_clas_pages_has_a_label_and_groups_have_legends(factory, partner_for, number):
    _, (token,) = factory.project(factory.campaign())
    page = partner_for(token).get(f"/bilan/page/{number}").get_data(as_text=True)
    structure = parse(page)
    assert structure.inputs, "a questionnaire page has inputs"
    for attrs, in_fieldset in structure.inputs:
        assert attrs.get("id") in structure.labels, f"input {attrs} has no label"
        if attrs.get("type") in ("radio", "checkbox") and not attrs["name"].endswith("__supprimer"):
            assert in_fieldset, f"{attrs['name']} is not in a fieldset with a legend"
    assert len(structure.ids) == len(set(structure.ids)), "ids are unique"
    assert '<html lang="fr">' in page


def test_the_error_summary_links_to_each_field_in_error(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    page = partner.save_page(2, {"code_postal": "7300", "code_insee": "20004"}).get_data(as_text=True)
    structure = parse(page)
    assert page.count('<li><a href="#f-') == 2
    for target in ("f-code_postal", "f-code_insee"):
        assert f'href="#{target}"' in page and target in structure.ids
    assert 'aria-invalid="true"' in page
    assert html.unescape(page).count("Erreur : ") >= 3  # title and each field's message


def test_the_matrix_is_a_fieldset_per_row(factory, partner_for):
    _, (token,) = factory.project(factory.campaign())
    page = partner_for(token).get("/bilan/page/5").get_data(as_text=True)
    assert page.count('<fieldset class="matrix-row">') == 9
    assert page.count('type="radio"') == 9 * 4


def test_a_conditional_question_says_when_to_answer_it(factory, partner_for):
    _, (token,) = factory.project(factory.campaign(ATELIER))
    page = html.unescape(partner_for(token).get("/bilan/page/2").get_data(as_text=True))
    assert "Seulement si vous avez répondu « Non » à la question" in page


def test_unknown_pages_and_server_errors_are_french_without_details(app, other_app):
    client = app.test_client()
    missing = client.get("/nulle-part")
    assert missing.status_code == 404 and "Page introuvable" in missing.get_data(as_text=True)

    fresh = other_app()

    @fresh.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    failed = fresh.test_client().get("/boom")
    text = failed.get_data(as_text=True)
    assert failed.status_code == 500
    assert "Le service a rencontré un problème" in text and "secret internals" not in text and "Traceback" not in text


def test_the_application_refuses_to_run_without_a_secret_key_outside_development(monkeypatch):
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    monkeypatch.delenv("SURVEY_ENV", raising=False)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": "sqlite://"})
    development = create_app({"ENV": "development", "DATABASE_URL": "sqlite://"})
    assert development.config["SECRET_KEY"] and development.config["SESSION_COOKIE_SECURE"] is False


def test_session_cookie_flags(factory, app, other_app):
    production = other_app(ENV="production")
    assert production.config["SESSION_COOKIE_SECURE"] is True
    _, (token,) = factory.project(factory.campaign())
    cookie = app.test_client().get(f"/r/{token}").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_demo_command_prints_working_links(app, clock, tmp_path):
    from datetime import datetime
    clock.set(datetime.now(UTC))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    links = [line.strip() for line in result.output.splitlines() if "/r/" in line]
    assert len(links) == 4
    client = app.test_client()
    path = links[0].split("5000", 1)[1]
    assert client.get(path).status_code == 302
    start = html.unescape(client.get("/bilan").get_data(as_text=True))
    assert "Association Les Petits Savants" in start and "Commencer le questionnaire" in start
    # Running it again revokes the printed links and prints new ones.
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0
    assert app.test_client().get(path).status_code == 404


def test_security_headers(factory, partner_for, app):
    _, (token,) = factory.project(factory.campaign())
    page = partner_for(token).get("/bilan/page/1")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in page.headers
    secure = app.test_client().get("/connexion", base_url="https://bilan.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    html_text = page.get_data(as_text=True)
    assert "<script>" not in html_text and 'style="' not in html_text and " onclick=" not in html_text


@pytest.mark.parametrize("storage", ["memory://", "redis"])
def test_personal_links_and_sign_in_are_rate_limited(app, other_app, storage, request):
    if storage == "redis":
        import redis
        url = "redis://127.0.0.1:6379/15"
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
        except redis.exceptions.ConnectionError:
            if os.environ.get("SURVEY_REQUIRE_REDIS") == "1":
                raise
            pytest.skip("no Redis server on 127.0.0.1:6379 (CI sets SURVEY_REQUIRE_REDIS=1 where there is one)")
        storage = url
    limited = other_app(RATELIMIT_STORAGE_URI=storage, LINK_RATE_LIMIT="3 per minute", SIGN_IN_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    codes = [client.get(f"/r/{'x' * 30}{n}").status_code for n in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    assert "Trop de tentatives" in client.get("/r/" + "y" * 30).get_data(as_text=True)
    other = limited.test_client()
    assert other.get("/r/" + "z" * 30, environ_base={"REMOTE_ADDR": "10.3.3.3"}).status_code == 404
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/connexion").get_data(as_text=True)).group(1)
    posts = [client.post("/connexion", data={"csrf_token": token, "email": "a@b.fr", "password": "x" * 12}).status_code
             for _ in range(3)]
    assert posts[-1] == 429
    assert client.get("/connexion").status_code == 200  # reading the page is not limited


def test_an_unreachable_rate_limit_store_lets_requests_through(other_app, caplog):
    # Nothing listens on port 1: the guard logs the failure (once) instead of closing the doors.
    guarded = other_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", LINK_RATE_LIMIT="1 per minute")
    client = guarded.test_client()
    codes = [client.get(f"/r/{'x' * 30}{n}").status_code for n in range(3)]
    assert codes == [404, 404, 404]
    assert caplog.text.count("rate-limit store unavailable") == 1


def test_every_limit_of_a_setting_counts(other_app):
    limited = other_app(LINK_RATE_LIMIT="100 per minute; 2 per hour")
    client = limited.test_client()
    codes = [client.get(f"/r/{'x' * 30}{n}").status_code for n in range(3)]
    assert codes == [404, 404, 429]  # the hourly limit, though the first one is far


def test_behind_a_declared_proxy_each_client_has_its_own_limit_and_nobody_can_forge_one(other_app):
    proxied = other_app(LINK_RATE_LIMIT="2 per minute", PROXIES=1)
    client = proxied.test_client()

    def open_from(address, n):
        return client.get(f"/r/{'x' * 30}{n}", headers={"X-Forwarded-For": address}).status_code
    assert [open_from("203.0.113.1", n) for n in range(3)] == [404, 404, 429]
    assert open_from("203.0.113.2", 9) == 404  # another partner behind the same proxy
    # Without a declared proxy the header is the client's word: ignored.
    direct = other_app(LINK_RATE_LIMIT="2 per minute").test_client()
    codes = [direct.get(f"/r/{'y' * 30}{n}", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
             for n in range(3)]
    assert codes == [404, 404, 429]


def test_french_text_says_adresse_electronique_and_courriel_never_email():
    """The French words for email (the project's wording): in every message, template and email of the package."""
    import re
    from pathlib import Path
    package = Path(__file__).parent.parent / "survey"
    english = re.compile(r"[Aa]dresses? e-?mail|\b(?:par|un|une|le|l’|l')\s?e-?mail\b")
    found = [f"{path.relative_to(package)}:{number}: {line.strip()}"
             for path in sorted(package.rglob("*")) if path.suffix in (".py", ".html", ".txt")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if english.search(line) and not line.lstrip().startswith("#")]
    assert not found, "\n".join(found)
