"""Each Caf's settings: time zone, contact and its own window per campaign, from the admin pages and the CLI."""
import html
from datetime import UTC, datetime

from sqlalchemy import select

from survey.models import Caf, CafWindow
from tests.test_import import campaign_code, run

UTC = UTC


def body(response):
    return html.unescape(response.get_data(as_text=True))


def caf_id(db, number):
    return db.scalar(select(Caf).where(Caf.number == number)).id


def test_a_caf_created_without_a_zone_takes_its_departments(app, factory, db):
    campaign = factory.campaign()
    for number in ("971", "972", "973", "974", "976", "731"):
        factory.project(campaign, caf_number=number, caf_name=f"Caf {number}", timezone=None)
    zones = dict(db.execute(select(Caf.number, Caf.timezone)).all())
    assert zones == {"971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
                     "974": "Indian/Reunion", "976": "Indian/Mayotte", "731": "Europe/Paris"}


def test_the_import_sets_a_new_cafs_zone_and_contact_from_optional_columns(app, factory, db):
    campaign = factory.campaign()
    data = ("reference;structure;siret;caf;caf_nom;caf_fuseau;caf_email;caf_telephone;caf_horaires;emails\r\n"
            "R-1;Asso;77567227200017;9741;Caf de La Réunion;;clas@caf974.example;0262 00 00 00;9 h – 12 h;a@b.re\r\n"
            "G-1;Asso;77567227200017;9999;Caf test;La Réunion;;;;a@b.re\r\n")
    result = run(app, "import-projects", campaign_code(db, campaign), data=data)
    assert result.exit_code == 0, result.output
    reunion = db.scalar(select(Caf).where(Caf.number == "9741"))
    assert (reunion.timezone, reunion.contact_email, reunion.contact_phone, reunion.contact_hours) == (
        "Indian/Reunion", "clas@caf974.example", "0262 00 00 00", "9 h – 12 h")
    assert db.scalar(select(Caf).where(Caf.number == "9999")).timezone == "Indian/Reunion"


def test_the_import_refuses_an_unknown_zone_or_a_bad_contact_and_imports_nothing(app, factory, db):
    campaign = factory.campaign()
    data = ("reference;structure;siret;caf;caf_nom;caf_fuseau;caf_email;emails\r\n"
            "R-1;Asso;77567227200017;974;Caf de La Réunion;Mars/Olympus;clas@caf974.example;a@b.re\r\n"
            "R-2;Asso;77567227200017;975;Caf X;;pas-une-adresse;a@b.re\r\n")
    result = run(app, "import-projects", campaign_code(db, campaign), data=data)
    assert result.exit_code == 1
    assert "ligne 2, colonne caf_fuseau : fuseau horaire inconnu « Mars/Olympus »" in result.output
    assert "ligne 3, colonne caf_email : Indiquez une adresse électronique valide" in result.output
    assert db.scalar(select(Caf)) is None


def test_a_successful_check_reads_as_a_success(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    data = "reference;structure;siret;caf;emails\r\n" + "".join(
        f"C-{n};Asso {n};77567227200017;731;c{n}@asso.example\r\n" for n in range(112))
    result = run(app, "import-projects", campaign_code(db, campaign), "--dry-run", data=data)
    assert result.exit_code == 0
    assert "Tout est prêt : 112 projets à importer." in result.output and "erreur" not in result.output


def test_an_administrator_sets_zone_and_contact_and_sees_every_error_at_once(app, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="974", caf_name="Caf de La Réunion")
    admin = caf_user("admin", None)
    number = caf_id(db, "974")
    assert "Caf de La Réunion" in body(admin.get("/admin/cafs"))
    refused = admin.post(f"/admin/cafs/{number}", {"name": "", "timezone": "Mars/Olympus", "contact_email": "x@",
                                                  "contact_phone": "0" * 41}, from_page=f"/admin/cafs/{number}")
    page = body(refused)
    assert refused.status_code == 400 and "<title>Erreur : " in page and "4 erreurs empêchent" in page
    for anchor in ("#f-name", "#f-timezone", "#f-contact_email", "#f-contact_phone"):
        assert f'href="{anchor}"' in page
    assert 'aria-describedby="e-contact_email"' in page and 'value="x@"' in page
    db.expire_all()
    assert db.get(Caf, number).name == "Caf de La Réunion" and db.get(Caf, number).contact_email is None
    saved = admin.post(f"/admin/cafs/{number}", {
        "name": "Caf de La Réunion", "timezone": "Indian/Reunion", "contact_email": "clas@caf974.example",
        "contact_phone": "0262 00 00 00", "contact_address": "4 rue Élie Hoarau\n97400 Saint-Denis",
        "contact_hours": "du lundi au vendredi, de 8 h à 12 h", "contact_note": ""}, from_page=f"/admin/cafs/{number}")
    assert saved.status_code == 302
    db.expire_all()
    caf = db.get(Caf, number)
    assert (caf.timezone, caf.contact_email, caf.contact_address, caf.contact_note) == (
        "Indian/Reunion", "clas@caf974.example", "4 rue Élie Hoarau\n97400 Saint-Denis", None)


def test_an_administrator_gives_a_caf_its_own_window_and_takes_it_back(app, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    admin = caf_user("admin", None)
    number = caf_id(db, "731")
    url = f"/admin/cafs/{number}/campagnes/{campaign}"
    bad = admin.post(url, {f"w{campaign}-opens": "2024-07-10T08:00", f"w{campaign}-closes": "2024-07-01T23:59:59"},
                     from_page=f"/admin/cafs/{number}")
    assert bad.status_code == 400 and "L’ouverture doit précéder la fermeture." in body(bad)
    assert db.scalar(select(CafWindow)) is None
    unreadable = admin.post(url, {f"w{campaign}-opens": "demain", f"w{campaign}-closes": "jamais"},
                            from_page=f"/admin/cafs/{number}")
    assert unreadable.status_code == 400 and body(unreadable).count("Indiquez une date et une heure valides") == 4  # summary and field
    good = admin.post(url, {f"w{campaign}-opens": "2024-06-14T08:00", f"w{campaign}-closes": "2024-07-08T23:59:59"},
                      from_page=f"/admin/cafs/{number}")
    assert good.status_code == 302
    window = db.scalar(select(CafWindow))
    assert window.closes_at == datetime(2024, 7, 8, 21, 59, 59, tzinfo=UTC)  # Paris, summer time
    assert "lundi 8 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in body(admin.get(f"/admin/cafs/{number}"))
    admin.post(url, {"action": "remove"}, from_page=f"/admin/cafs/{number}")
    db.expire_all()
    assert db.scalar(select(CafWindow)) is None


def test_a_reviewer_cannot_reach_the_caf_settings(app, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    reviewer = caf_user("reviewer", "731")
    assert reviewer.get(f"/admin/cafs/{caf_id(db, '731')}").status_code == 404


def test_the_commands_set_a_cafs_zone_contact_and_window(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="974", caf_name="Caf de La Réunion", timezone="Europe/Paris")
    cli = app.test_cli_runner()
    result = cli.invoke(args=["set-caf", "974", "--timezone", "La Réunion", "--email", "clas@caf974.example",
                              "--address", "4 rue Élie Hoarau\\n97400 Saint-Denis"])
    assert result.exit_code == 0, result.output
    assert "heure de La Réunion" in result.output
    bad = cli.invoke(args=["set-caf", "974", "--timezone", "Mars/Olympus", "--email", "x@"])
    assert bad.exit_code == 1 and "fuseau horaire" in bad.output and "adresse électronique valide" in bad.output
    code = campaign_code(db, campaign)
    window = cli.invoke(args=["set-caf-window", code, "974", "--closes", "2024-07-08 23:59:59"])
    assert window.exit_code == 0, window.output
    assert "au lundi 8 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion" in window.output
    caf = db.scalar(select(Caf).where(Caf.number == "974"))
    assert caf.contact_address == "4 rue Élie Hoarau\n97400 Saint-Denis"
    assert db.scalar(select(CafWindow)).closes_at == datetime(2024, 7, 8, 19, 59, 59, tzinfo=UTC)  # UTC+4
    assert cli.invoke(args=["set-caf-window", code, "974", "--remove"]).exit_code == 0
    assert db.scalar(select(CafWindow)) is None
    assert cli.invoke(args=["set-caf-window", code, "000", "--remove"]).exit_code == 1
