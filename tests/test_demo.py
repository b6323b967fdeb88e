"""The demo: its Caf's contact shown to partners, and every email it sends kept in a folder and readable."""
import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.config import ConfigError, build_config
from survey.demo import DEMO_CONTACT
from survey.models import Caf
from tests.conftest import complete_clas_answers

UTC = UTC


def text(response):
    return html.unescape(response.get_data(as_text=True))


def plain(page):
    """A page's text without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def run_demo(app, clock):
    clock.set(datetime.now(UTC).replace(microsecond=0))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def personal_link(output, reference):
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(reference))
    return "/r/" + lines[start + 1].split("/r/", 1)[1].strip()


def test_the_demo_caf_has_a_contact_its_partners_are_shown(app, clock, db):
    output = run_demo(app, clock)
    savoie = db.scalar(select(Caf).where(Caf.number == "731"))
    assert {field: getattr(savoie, field) for field in DEMO_CONTACT} == DEMO_CONTACT
    assert "@" in savoie.contact_email and savoie.contact_phone.startswith("04 ")
    client = app.test_client()
    assert client.get(personal_link(output, "CLAS-73-002")).status_code == 302
    start = plain(text(client.get("/bilan")))
    for shown in ("Besoin d’aide ?", "Courriel : clas@caf73.example", "Téléphone : 04 65 71 20 24",
                  "12 avenue des Ducs de Savoie", "73000 Chambéry", "Horaires : du lundi au vendredi"):
        assert shown in start, shown
    footer = text(client.get("/bilan/page/1"))
    assert ("Contacter votre Caf :</strong> Caf de la Savoie, <a href=\"mailto:clas@caf73.example\">"
            "clas@caf73.example</a>, <a href=\"tel:0465712024\" class=\"nowrap\">04 65 71 20 24</a> (du lundi au vendredi") in footer
    # An invalid link's page leads to the Cafs' contacts, where the demo Caf's is.
    invalid = text(app.test_client().get("/r/" + "x" * 43))
    assert "/contact" in invalid
    assert "clas@caf73.example" in text(app.test_client().get("/contact"))
    # Once the demo campaign has closed, the partner is told to contact the Caf, with its address and phone.
    clock.set(clock.now + timedelta(days=40))
    closed = text(client.get("/bilan"))
    assert "contactez votre Caf : Caf de la Savoie, " in closed and "04 65 71 20 24" in closed


def test_the_demo_keeps_a_contact_an_administrator_changed(app, clock, db):
    run_demo(app, clock)
    savoie = db.scalar(select(Caf).where(Caf.number == "731"))
    savoie.contact_email, savoie.contact_phone = "accueil@caf73.example", None
    db.commit()
    run_demo(app, clock)
    db.expire_all()
    assert db.scalar(select(Caf.contact_email).where(Caf.number == "731")) == "accueil@caf73.example"


@pytest.fixture
def mail_folder(app, tmp_path):
    folder = tmp_path / "demo-emails"
    app.config["MAIL_FOLDER"] = str(folder)
    return folder


def test_every_email_of_the_demo_lands_in_its_folder_and_an_administrator_reads_it(
        app, clock, db, mail_folder, caf_user, partner_for):
    output = run_demo(app, clock)
    assert f"chacun est écrit dans {mail_folder}" in output and "/admin/courriels" in output
    assert not mail_folder.exists()  # nothing sent yet
    sent = app.test_cli_runner().invoke(args=["send-invitations", "clas-2023-2024-demo", "--caf", "731"])
    assert sent.exit_code == 0, sent.output
    files = sorted(mail_folder.glob("*.eml"))
    assert len(files) == 3  # three contacts in the Caf de la Savoie
    raw = files[0].read_bytes()
    assert b"Subject:" in raw and b"\r\n" in raw and b"Caf de la Savoie" in raw
    # A partner transmits: the receipt, sent by the server's own sending thread, lands there too.
    partner = partner_for(personal_link(output, "CLAS-73-002").removeprefix("/r/"))
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    app.extensions["outbox"].drain(10)
    assert len(list(mail_folder.glob("*.eml"))) == 4

    admin = caf_user("admin", None)
    listing = text(admin.get("/admin/courriels"))
    assert listing.count("accueil@cs-biollay.example") == 2 and "direction@petits-savants.example" in listing
    assert "Accusé de réception" in listing or "accusé de réception" in listing.lower()
    assert str(mail_folder) in listing
    assert "Courriels de la démonstration" in text(admin.get("/admin/"))
    names = [path.name for path in sorted(mail_folder.glob("*.eml"), reverse=True)]
    receipt = text(admin.get(f"/admin/courriels/{names[0]}"))  # the newest first: the receipt
    assert "accueil@cs-biollay.example" in receipt and ".pdf (" in receipt  # its PDF, listed
    invitation_name = next(path.name for path in files if b"petits-savants" in path.read_bytes())
    invitation = text(admin.get(f"/admin/courriels/{invitation_name}"))
    assert "http://127.0.0.1:5000/r/" in invitation and "clas@caf73.example" in invitation
    assert "Pièces jointes</dt><dd>aucune" in invitation
    version = admin.get(f"/admin/courriels/{invitation_name}/html")
    assert version.status_code == 200 and version.mimetype == "text/html"
    assert version.headers["Content-Security-Policy"].startswith("sandbox;")
    assert "<a href=\"http://127.0.0.1:5000/r/" in version.get_data(as_text=True)


def test_the_demo_email_pages_are_for_administrators_and_only_with_the_folder(app, clock, mail_folder, caf_user):
    run_demo(app, clock)
    assert app.test_cli_runner().invoke(args=["send-invitations", "clas-2023-2024-demo"]).exit_code == 0
    name = next(mail_folder.glob("*.eml")).name
    reviewer = caf_user("reviewer", "731")
    for url in ("/admin/courriels", f"/admin/courriels/{name}", f"/admin/courriels/{name}/html"):
        assert reviewer.get(url).status_code == 404, url
    admin = caf_user("admin", None)
    for url in ("/admin/courriels/..%2Fsurvey.sqlite3", "/admin/courriels/20240101-000000-000000-00000000.eml",
                "/admin/courriels/passwd"):
        assert admin.get(url).status_code == 404, url
    app.config["MAIL_FOLDER"] = None
    for url in ("/admin/courriels", f"/admin/courriels/{name}"):
        assert admin.get(url).status_code == 404, url
    assert "Courriels de la démonstration" not in text(admin.get("/admin/"))


def test_the_mail_folder_is_refused_outside_development(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_MAIL_FOLDER", str(tmp_path))
    with pytest.raises(ConfigError, match="SURVEY_MAIL_FOLDER"):
        build_config({"SECRET_KEY": "s", "ENV": "production"})
    assert build_config({"ENV": "development"})["MAIL_FOLDER"] == str(tmp_path)


def test_bin_demo_turns_the_folder_on():
    script = (Path(__file__).parent.parent / "bin" / "demo").read_text()
    assert 'SURVEY_MAIL_FOLDER="${SURVEY_MAIL_FOLDER-$PWD/instance/demo-emails}"' in script
