"""save_page takes outcomes, not an HTTP form: a command or an API saves a page the way the web does."""
import io
import os

from flask import has_app_context, has_request_context
from sqlalchemy import select

from survey.engine.questions.base import Outcome
from survey.models import EventKind, Response, ResponseEvent, User
from survey.operations import Actor, save_page
from survey.questionnaires import response_definition
from survey.uploads import Upload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BILAN = "Une année de progrès pour les enfants, racontée par l’équipe. " * 2


def _response(app, factory, db):
    response_id, _ = factory.project(factory.campaign())
    response = db.get(Response, response_id)
    return response, response_definition(response).page(8)


def test_a_page_is_saved_without_any_request(app, factory, db, clock):
    response, page = _response(app, factory, db)
    store = app.extensions["uploads"]
    outcomes = {
        "formation_coordinateur": Outcome(value="oui", raw="oui"),
        "bilan_qualitatif": Outcome(value=BILAN, raw=BILAN),
        "document": Outcome(raw=Upload("Bilan 2024.pdf", io.BytesIO(PDF))),
    }
    assert not has_request_context() and not has_app_context()
    result = save_page(db, response, page, outcomes, response.version, clock(), store)
    assert result.saved and result.errors == {}
    db.expire_all()
    saved = db.get(Response, response.id)
    assert saved.answers["formation_coordinateur"] == "oui" and saved.answers["bilan_qualitatif"] == BILAN
    document = saved.answers["document"]
    assert document["name"] == "Bilan 2024.pdf" and document["mime"] == "application/pdf"
    assert os.listdir(store.directory) == [document["key"]] and store.path(document["key"]).read_bytes() == PDF
    codes = {event.code for event in db.query(ResponseEvent).filter_by(response_id=response.id, kind=EventKind.ANSWER)}
    assert codes == {"formation_coordinateur", "bilan_qualitatif", "document"}  # one history line per change
    # A question left out of the outcomes keeps its answer; one given empty is cleared.
    again = save_page(db, saved, page, {"formation_coordinateur": Outcome(value=None, raw="")}, saved.version,
                      clock(), store)
    assert again.saved
    db.expire_all()
    saved = db.get(Response, response.id)
    assert "formation_coordinateur" not in saved.answers and saved.answers["bilan_qualitatif"] == BILAN
    assert saved.answers["document"] == document


def test_without_a_request_a_refused_document_and_a_caf_correction_with_errors_change_nothing(app, factory, db,
                                                                                           caf_user, clock):
    response, page = _response(app, factory, db)
    store = app.extensions["uploads"]
    refused = save_page(db, response, page, {"document": Outcome(raw=Upload("notes.pdf", io.BytesIO(b"pas un PDF")))},
                        response.version, clock(), store)
    assert refused.errors["document"] == ["Le fichier « notes.pdf » n'est pas d'un type accepté "
                                          "(PDF, ODT, DOCX, ODS, XLSX, JPEG ou PNG)."]
    assert not os.path.isdir(store.directory) or os.listdir(store.directory) == []
    reviewer = db.scalar(select(User).where(User.email == caf_user(sign_in=False).email))
    db.expire_all()
    response = db.get(Response, response.id)
    version = response.version
    wrong = Outcome(raw="x" * 3, errors=["Le bilan qualitatif compte au moins 50 caractères."])
    correction = save_page(db, response, page, {"formation_coordinateur": Outcome(value="non", raw="non"),
                                                "bilan_qualitatif": wrong},
                           version, clock(), store, Actor(user=reviewer))
    assert not correction.saved and correction.errors == {"bilan_qualitatif": wrong.errors}
    db.expire_all()
    unchanged = db.get(Response, response.id)
    assert unchanged.version == version and "formation_coordinateur" not in unchanged.answers
