"""The attached document, through the partner's page 8."""
import html
import io
import os

from survey.models import Response

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BILAN = "Bilan : " + "une année de progrès pour les enfants. " * 3


def body(response):
    return html.unescape(response.get_data(as_text=True))


def stored(db, response_id) -> Response:
    db.expire_all()
    return db.get(Response, response_id)


def files_in(app):
    directory = app.config["UPLOAD_DIR"]
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def upload(partner, content, name, **other):
    return partner.save_page(8, {"bilan_qualitatif": BILAN, **other, "document": (io.BytesIO(content), name)})


def test_a_document_is_stored_under_a_random_name_and_downloadable(factory, partner_for, app, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert upload(partner, PDF, "Bilan 2024.pdf").status_code == 302
    document = stored(db, response_id).answers["document"]
    assert document["name"] == "Bilan 2024.pdf" and document["size"] == len(PDF)
    assert document["mime"] == "application/pdf"
    assert files_in(app) == [document["key"]]
    assert "Bilan 2024" not in document["key"]
    download = partner.client.get("/bilan/document/document")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert stored(db, response_id).answers["bilan_qualitatif"] == BILAN.strip()


def test_a_file_that_lies_about_its_type_is_refused_and_the_page_kept(factory, partner_for, app, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for content, name, message in (
        (PNG, "rapport.pdf", "ne correspond pas à son extension"),
        (b"MZ\x90\x00 not a document", "rapport.pdf", "n'est pas d'un type accepté"),
        (b"<html><script>alert(1)</script></html>", "page.html", "n'est pas d'un type accepté"),
    ):
        refused = upload(partner, content, name, formation_coordinateur="oui")
        assert refused.status_code == 200
        assert message in body(refused)
        assert "<title>Erreur : " in body(refused)
    response = stored(db, response_id)
    assert "document" not in response.answers
    assert response.answers["bilan_qualitatif"] == BILAN.strip()
    assert response.answers["formation_coordinateur"] == "oui"
    assert files_in(app) == []


def test_an_oversize_file_is_refused_and_the_other_answers_kept(factory, partner_for, app, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    big = PDF + b"0" * app.config["UPLOAD_MAX_BYTES"]
    refused = upload(partner, big, "gros.pdf")
    assert "dépasse la taille maximale" in body(refused)
    assert stored(db, response_id).answers["bilan_qualitatif"] == BILAN.strip()
    assert "document" not in stored(db, response_id).answers
    assert files_in(app) == []


def test_a_file_far_over_the_request_limit_never_costs_the_bilan_typed_beside_it(factory, partner_for, app, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    long_bilan = "\n\n".join(f"Paragraphe {n} : " + "les enfants ont progressé, les parents sont venus. " * 40
                               for n in range(12))
    huge = PDF + b"0" * (3 * app.config["MAX_CONTENT_LENGTH"])  # over every ordinary request limit
    refused = partner.save_page(8, {"bilan_qualitatif": long_bilan, "document": (io.BytesIO(huge), "video.pdf")})
    assert refused.status_code == 200
    assert "dépasse la taille maximale" in body(refused)
    assert stored(db, response_id).answers["bilan_qualitatif"] == long_bilan.strip()
    assert "document" not in stored(db, response_id).answers
    assert files_in(app) == []


def test_a_request_over_the_page_bound_gets_a_french_page(factory, partner_for, app, db):
    app.config["MAX_DOCUMENT_PAGE_BYTES"] = 2 * app.config["MAX_CONTENT_LENGTH"]
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    huge = PDF + b"0" * app.config["MAX_DOCUMENT_PAGE_BYTES"]
    refused = upload(partner, huge, "enorme.pdf")
    assert refused.status_code == 413
    assert "Fichier trop volumineux" in body(refused)
    assert "bilan_qualitatif" not in stored(db, response_id).answers


def test_other_requests_keep_the_small_limit(app):
    refused = app.test_client().post("/connexion", data={"email": "x" * (2 * app.config["MAX_CONTENT_LENGTH"])})
    assert refused.status_code == 413


def test_replacing_and_removing_delete_the_old_file(factory, partner_for, app, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    upload(partner, PDF, "premier.pdf")
    first = stored(db, response_id).answers["document"]["key"]
    upload(partner, PNG, "photo.png")
    second = stored(db, response_id).answers["document"]
    assert second["name"] == "photo.png" and second["mime"] == "image/png"
    assert files_in(app) == [second["key"]] and first not in files_in(app)
    page = body(partner.get("/bilan/page/8"))
    assert "Document enregistré" in page and "photo.png" in page
    partner.save_page(8, {"bilan_qualitatif": BILAN, "document__supprimer": "y"})
    assert "document" not in stored(db, response_id).answers
    assert files_in(app) == []


def test_the_original_name_is_sanitised_and_escaped(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    upload(partner, PDF, "../../etc/<b>évaluation\x07.pdf")
    name = stored(db, response_id).answers["document"]["name"]
    assert "/" not in name and "\x07" not in name and name.endswith(".pdf") and "évaluation" in name
    page = partner.get("/bilan/page/8").get_data(as_text=True)
    assert "<b>évaluation" not in page and "&lt;b&gt;évaluation" in page


def test_only_the_projects_contacts_can_download(factory, partner_for, app, db):
    campaign = factory.campaign()
    _, (mine,) = factory.project(campaign)
    _, (theirs,) = factory.project(campaign)
    upload(partner_for(mine), PDF, "bilan.pdf")
    assert partner_for(theirs).client.get("/bilan/document/document").status_code == 404
    assert app.test_client().get("/bilan/document/document").status_code == 404
    assert partner_for(mine).client.get("/bilan/document/bilan_qualitatif").status_code == 404
    assert partner_for(mine).client.get("/bilan/document/..%2F..%2Fetc").status_code == 404
