"""A POST sent twice (nginx retrying it on another node, `proxy_next_upstream ... non_idempotent`) changes
nothing the second time: the version checks make a retried page save or transmission safe."""
from sqlalchemy import func, select

from survey.models import EmailLog, Response, ResponseEvent
from tests.conftest import complete_clas_answers


def snapshot(db, response_id):
    db.expire_all()
    response = db.get(Response, response_id)
    return (response.version, response.state, dict(response.answers), response.submitted_at,
            db.scalar(select(func.count()).select_from(ResponseEvent).where(ResponseEvent.response_id == response_id)),
            db.scalar(select(func.count()).select_from(EmailLog).where(EmailLog.response_id == response_id)))


def test_a_page_save_sent_twice_is_saved_once(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.get("/bilan/page/2")
    form = {**partner.hidden(), "action": "save", **complete_clas_answers()[2]}
    first = partner.client.post("/bilan/page/2", data=form, content_type="multipart/form-data")
    assert first.status_code == 302
    after_first = snapshot(db, response_id)
    assert after_first[2]["lieu_action"] == "Maison de quartier"
    replay = partner.client.post("/bilan/page/2", data=form, content_type="multipart/form-data")
    assert replay.status_code < 500
    assert snapshot(db, response_id) == after_first


def test_a_transmission_sent_twice_is_transmitted_once(factory, partner_for, db, app):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.get("/bilan/recapitulatif")
    form = {**partner.hidden(), "certifie": "oui"}
    assert partner.client.post("/bilan/transmettre", data=form).status_code == 302
    app.extensions["outbox"].drain(10)
    after_first = snapshot(db, response_id)
    assert after_first[1].value == "submitted" and after_first[5] == 1  # one receipt planned
    replay = partner.client.post("/bilan/transmettre", data=form)
    app.extensions["outbox"].drain(10)
    assert replay.status_code < 500
    assert snapshot(db, response_id) == after_first
