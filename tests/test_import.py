"""Importing the funded projects: good, bad and repeated files, from the command and the admin page."""
import html
import io

from sqlalchemy import func, select

from survey.models import Campaign, Contact, Project, Response, ResponseState

GOOD = (
    "reference;structure;siret;caf;commune;emails\r\n"
    "CLAS-73-010;Association Lire Ensemble;77567227200017;731;Chambéry;a@lire.example, b@lire.example\r\n"
    "CLAS-73-011;Centre social Les Hauts;41234567000019;731;Aix-les-Bains;centre@hauts.example\r\n"
)


def body(response):
    return html.unescape(response.get_data(as_text=True))


def campaign_code(db, campaign_id):
    return db.get(Campaign, campaign_id).code


def run(app, *args, data):
    path = app.config["UPLOAD_DIR"] + "-import.csv"
    with open(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return app.test_cli_runner().invoke(args=[*args, path])


def test_a_good_file_creates_projects_contacts_and_prefilled_responses(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")  # makes Caf 731 exist
    result = run(app, "import-projects", campaign_code(db, campaign), data=GOOD)
    assert result.exit_code == 0, result.output
    assert "2 projets créés" in result.output and "3 contacts ajoutés" in result.output
    project = db.scalar(select(Project).where(Project.reference == "CLAS-73-010"))
    assert project.structure_name == "Association Lire Ensemble" and project.commune == "Chambéry"
    assert sorted(c.email for c in project.contacts) == ["a@lire.example", "b@lire.example"]
    response = db.scalar(select(Response).where(Response.project_id == project.id))
    assert response.state is ResponseState.NOT_STARTED
    assert response.answers["nom_structure"] == "Association Lire Ensemble"
    assert response.answers["siret"] == "77567227200017" and response.answers["siren"] == "775672272"
    assert response.answers["caf_numero"] == "731"


def test_importing_again_updates_and_never_duplicates(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    code = campaign_code(db, campaign)
    run(app, "import-projects", code, data=GOOD)
    changed = GOOD.replace("Association Lire Ensemble", "Lire Ensemble (nouveau nom)").replace(
        "centre@hauts.example", "centre@hauts.example c@hauts.example")
    result = run(app, "import-projects", code, data=changed)
    assert result.exit_code == 0, result.output
    assert "0 projet créé, 2 mis à jour" in result.output and "1 contact ajouté" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Project).where(Project.reference.like("CLAS-73-01%"))) == 2
    assert db.scalar(select(func.count()).select_from(Contact).join(Project).where(Project.reference == "CLAS-73-011")) == 2
    response = db.scalar(select(Response).join(Project).where(Project.reference == "CLAS-73-010"))
    assert response.answers["nom_structure"] == "Lire Ensemble (nouveau nom)"
    assert db.scalar(select(func.count()).select_from(Response).where(Response.campaign_id == campaign)) == 3
    same = run(app, "import-projects", code, data=changed)
    assert "0 mis à jour, 2 inchangés" in same.output


def test_a_started_response_keeps_the_partners_answers_on_reimport(app, factory, partner_for, db):
    campaign = factory.campaign()
    response_id, (token,) = factory.project(campaign, reference="CLAS-73-010")
    partner_for(token).save_page(1, {"nom_structure": "Nom corrigé par le partenaire"})
    run(app, "import-projects", campaign_code(db, campaign), data=GOOD)
    db.expire_all()
    assert db.get(Response, response_id).answers["nom_structure"] == "Nom corrigé par le partenaire"


def test_a_file_with_errors_imports_nothing_and_names_each_line_and_column(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    bad = GOOD + (
        "CLAS-73-012;;12345678901234;731;Ugine;pas-une-adresse\r\n"
        "CLAS-73-010;Doublon;77567227200017;999;Ugine;x@y.example\r\n"
    )
    result = run(app, "import-projects", campaign_code(db, campaign), data=bad)
    assert result.exit_code == 1
    assert "ligne 4, colonne structure" in result.output
    assert "ligne 4, colonne siret : SIRET invalide « 12345678901234 »" in result.output
    assert "ligne 4, colonne emails : adresse électronique invalide « pas-une-adresse »" in result.output
    assert "ligne 5, colonne reference : référence déjà présente ligne 2" in result.output
    assert "Rien n'a été importé" in result.output
    assert db.scalar(select(Project).where(Project.reference == "CLAS-73-011")) is None


def test_the_valid_rows_only_option(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    bad = GOOD + "CLAS-73-012;Sans Caf;77567227200017;999;Ugine;x@y.example\r\n"
    result = run(app, "import-projects", campaign_code(db, campaign), "--valid-only", data=bad)
    assert result.exit_code == 0, result.output
    assert "ligne 4, colonne caf : Caf 999 inconnue" in result.output and "2 projets créés" in result.output
    assert db.scalar(select(Project).where(Project.reference == "CLAS-73-012")) is None


def test_a_missing_column_and_windows_encoding(app, factory, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    missing = run(app, "import-projects", campaign_code(db, campaign), data="reference;structure\r\nX;Y\r\n")
    assert missing.exit_code == 1 and "ligne 1, colonne siret : colonne absente" in missing.output
    windows = GOOD.replace(";", ",").replace("a@lire.example, b@lire.example", "a@lire.example b@lire.example")
    result = run(app, "import-projects", campaign_code(db, campaign), data=windows.encode("cp1252"))
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Project).where(Project.reference == "CLAS-73-010")).commune == "Chambéry"


def test_an_unknown_caf_is_created_when_named(app, factory, db):
    campaign = factory.campaign()
    data = "reference;structure;siret;caf;caf_nom;commune;emails\r\nCLAS-974-1;Asso;77567227200017;974;Caf de La Réunion;Saint-Denis;a@b.re\r\n"
    assert run(app, "import-projects", campaign_code(db, campaign), data=data).exit_code == 0
    assert db.scalar(select(Project).where(Project.reference == "CLAS-974-1")).caf.name == "Caf de La Réunion"


def test_the_admin_page_imports_the_same_way(app, factory, caf_user, db):
    campaign = factory.campaign()
    factory.project(campaign, caf_number="731")
    admin = caf_user("admin", None)
    admin.get(f"/admin/campagnes/{campaign}/import")
    bad = admin.post(f"/admin/campagnes/{campaign}/import", {"fichier": (io.BytesIO((GOOD + "X;;;;;\r\n").encode()), "p.csv")},
                     content_type="multipart/form-data")
    assert bad.status_code == 422 and "Rien n'a été importé" in body(bad) and "ligne 4" in body(bad)
    good = admin.post(f"/admin/campagnes/{campaign}/import", {"fichier": (io.BytesIO(GOOD.encode()), "p.csv")},
                      content_type="multipart/form-data")
    assert good.status_code == 200 and "2 projets créés" in body(good)
    reviewer = caf_user("reviewer", "731")
    assert reviewer.get(f"/admin/campagnes/{campaign}/import").status_code == 404


def test_creating_a_campaign_from_the_command_and_the_page(app, caf_user, db):
    result = app.test_cli_runner().invoke(args=[
        "create-campaign", "clas-2023-2024", "survey/definitions/clas-2023-2024.json",
        "--opens", "2024-06-14 08:00", "--closes", "2024-07-15 23:59:59"])
    assert result.exit_code == 0, result.output
    assert "au lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in result.output
    campaign = db.scalar(select(Campaign).where(Campaign.code == "clas-2023-2024"))
    assert campaign.definition_content["code"] == "clas-2023-2024" and campaign.definition_version == 1
    twice = app.test_cli_runner().invoke(args=[
        "create-campaign", "clas-2023-2024", "survey/definitions/clas-2023-2024.json",
        "--opens", "2024-06-14 08:00", "--closes", "2024-07-15 23:59:59"])
    assert twice.exit_code == 1 and "déjà le code" in twice.output
    admin = caf_user("admin", None)
    admin.get("/admin/")
    created = admin.post("/admin/campagnes", {"definition": "clas-2024-2025@2", "code": "clas-2024-2025",
                                              "opens": "2025-06-01T08:00", "closes": "2025-07-15T23:59:59"})
    assert created.status_code == 302
    assert db.scalar(select(Campaign).where(Campaign.code == "clas-2024-2025")).definition_code == "clas-2024-2025"
    refused = admin.post("/admin/campagnes", {"definition": "../../etc/passwd", "code": "x"}, from_page="/admin/")
    assert refused.status_code == 400


def test_a_campaign_is_created_from_a_questionnaire_chosen_by_title_and_every_error_shows_at_once(app, caf_user, db):
    admin = caf_user("admin", None)
    page = body(admin.get("/admin/"))
    assert "Clas 2024-2025" in page and "version 1" in page and ".json" not in page
    refused = admin.post("/admin/campagnes", {"definition": "nothing@9", "code": "X", "opens": "demain",
                                              "closes": "2025-07-15T23:59:59"}, from_page="/admin/")
    page = body(refused)
    assert refused.status_code == 400 and "<title>Erreur : " in page and "3 erreurs empêchent" in page
    for anchor in ("#f-definition", "#f-code", "#f-opens"):
        assert f'href="{anchor}"' in page
    assert db.scalar(select(Campaign)) is None
    backwards = admin.post("/admin/campagnes", {"definition": "clas-2024-2025@2", "code": "clas-2024-2025",
                                                "opens": "2025-07-16T08:00", "closes": "2025-07-15T23:59:59"},
                           from_page="/admin/")
    assert backwards.status_code == 400 and "La fermeture doit suivre l'ouverture." in body(backwards)
