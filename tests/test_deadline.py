"""The deadline: the partner may save and transmit up to the closing second, never after."""
import html
from datetime import timedelta

from survey.engine.timefmt import parse_local
from survey.models import Response, ResponseState
from tests.conftest import CLAS_CLOSES, complete_clas_answers


def body(response):
    return html.unescape(response.get_data(as_text=True))


def answers_of(db, response_id):
    db.expire_all()
    return db.get(Response, response_id)


def test_saving_at_the_last_second_is_accepted(factory, partner_for, clock, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    clock.set(CLAS_CLOSES)
    assert partner.save_page(2, {"lieu_action": "Juste à temps"}).status_code == 302
    assert answers_of(db, response_id).answers["lieu_action"] == "Juste à temps"


def test_one_second_after_the_deadline_nothing_is_saved(factory, partner_for, clock, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(2, {"lieu_action": "Avant"})
    clock.set(CLAS_CLOSES - timedelta(seconds=10))
    partner.get("/bilan/page/2")  # the form is opened before the deadline...
    clock.set(CLAS_CLOSES + timedelta(seconds=1))
    refused = partner.save_page(2, {"lieu_action": "Trop tard"}, reload=False)  # ...and posted after
    assert refused.status_code == 409
    page = body(refused)
    assert "Questionnaire fermé." in page
    assert "fermé depuis le lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in page
    assert "Trop tard" in page  # shown back so that it can be copied, not stored
    assert answers_of(db, response_id).answers["lieu_action"] == "Avant"


def test_after_the_deadline_pages_are_read_only_and_answers_kept(factory, partner_for, clock):
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    partner.save_page(2, {"lieu_action": "Gardé"})
    clock.set(CLAS_CLOSES + timedelta(days=3))
    page = body(partner.get("/bilan/page/2"))
    assert "<form" not in page and "Gardé" in page and "Questionnaire fermé." in page
    start = body(partner.get("/bilan"))
    assert "Questionnaire fermé." in start and "Commencer" not in start
    assert "la prestation de service Clas ne peut pas être versée" in start
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Transmettre à la Caf</button>" not in summary and "Modifier" not in summary


def test_a_complete_response_cannot_be_transmitted_after_the_deadline(factory, partner_for, clock, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.get("/bilan/recapitulatif")
    ready = partner.hidden()
    clock.set(CLAS_CLOSES + timedelta(seconds=1))
    refused = partner.client.post("/bilan/transmettre", data={**ready, "certifie": "oui"})
    assert refused.status_code == 409
    assert "Le questionnaire est fermé" in body(refused)
    assert answers_of(db, response_id).state is ResponseState.IN_PROGRESS


def test_transmission_at_the_last_second_is_accepted(factory, partner_for, clock, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    clock.set(CLAS_CLOSES)
    assert partner.transmit().status_code == 302
    assert answers_of(db, response_id).state is ResponseState.SUBMITTED


def test_before_opening_nothing_is_saved(factory, partner_for, clock, db):
    opens = CLAS_CLOSES - timedelta(days=10)
    response_id, (token,) = factory.project(factory.campaign(opens=opens))
    partner = partner_for(token)
    clock.set(opens - timedelta(days=1))
    partner.client.get("/bilan")
    clock.set(opens)
    partner.get("/bilan/page/2")
    clock.set(opens - timedelta(seconds=1))
    refused = partner.save_page(2, {"lieu_action": "Trop tôt"}, reload=False)
    assert refused.status_code == 409 and "pas encore ouvert" in body(refused)
    assert "lieu_action" not in answers_of(db, response_id).answers


def test_a_deadline_across_the_autumn_clock_change(factory, partner_for, clock, db):
    # Clocks go back on Sunday 27 October 2024 at 03:00: the evening is UTC+1.
    closes = parse_local("2024-10-27T23:59:59", "Europe/Paris")
    assert closes.utcoffset() == timedelta(hours=1)
    opens = parse_local("2024-10-01T00:00:00", "Europe/Paris")
    assert opens.utcoffset() == timedelta(hours=2)
    response_id, (token,) = factory.project(factory.campaign(opens=opens, closes=closes))
    partner = partner_for(token)
    clock.set(closes)
    assert "dimanche 27 octobre 2024 à 23\u00a0h\u00a059, heure de Paris" in body(partner.get("/bilan"))
    assert partner.save_page(2, {"lieu_action": "Dernière seconde"}).status_code == 302
    partner.get("/bilan/page/2")
    clock.set(closes + timedelta(seconds=1))
    assert partner.save_page(2, {"lieu_action": "Une seconde après"}, reload=False).status_code == 409
    assert answers_of(db, response_id).answers["lieu_action"] == "Dernière seconde"


def test_an_overseas_caf_sees_the_deadline_in_its_own_time(factory, partner_for):
    _, (token,) = factory.project(factory.campaign(), caf_number="974", caf_name="Caf de La Réunion",
                                  timezone="Indian/Reunion")
    start = body(partner_for(token).get("/bilan"))
    assert "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion" in start  # 23:59 in its own zone


def test_the_whole_last_second_counts(factory, partner_for, clock, db):
    response_id, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    clock.set(CLAS_CLOSES + timedelta(microseconds=600_000))  # 23:59:59.6 for a deadline shown "23 h 59"
    assert partner.save_page(2, {"lieu_action": "Dans la dernière seconde"}).status_code == 302
    assert answers_of(db, response_id).answers["lieu_action"] == "Dans la dernière seconde"


def _extend(app, response_id, until):
    from survey.db import get_session
    with app.app_context():
        session = get_session()
        session.get(Response, response_id).extended_until = until
        session.commit()


def test_the_summary_shows_the_partners_own_deadline_with_an_extension(app, factory, partner_for, clock):
    response_id, (token,) = factory.project(factory.campaign())
    _extend(app, response_id, CLAS_CLOSES + timedelta(days=7))
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    clock.set(CLAS_CLOSES + timedelta(days=1))  # past the campaign's closing, within the extension
    summary = body(partner.get("/bilan/recapitulatif"))
    assert "Date limite : lundi 22 juillet 2024 à 23\u00a0h\u00a059, heure de Paris" in summary
    assert "15 juillet" not in summary
    assert partner.transmit().status_code == 302


def test_one_rule_decides_the_window_in_every_case(app, factory, db):
    from survey.deadline import DeadlineKind, awaits_partner, partner_window
    from survey.models import CorrectionRequest
    response_id, _ = factory.project(factory.campaign())
    response = db.get(Response, response_id)
    db.autoflush = False  # the states below are built in memory only
    window = partner_window(response)
    assert (window.closes_at, window.kind) == (CLAS_CLOSES, DeadlineKind.CAMPAIGN)
    assert awaits_partner(response, CLAS_CLOSES + timedelta(microseconds=999_999))
    assert not awaits_partner(response, CLAS_CLOSES + timedelta(seconds=1))
    response.extended_until = CLAS_CLOSES - timedelta(days=1)  # an extension earlier than the closing shortens nothing
    assert partner_window(response).kind is DeadlineKind.CAMPAIGN
    response.extended_until = CLAS_CLOSES + timedelta(days=3)
    assert (partner_window(response).closes_at, partner_window(response).kind) == (
        CLAS_CLOSES + timedelta(days=3), DeadlineKind.EXTENSION)
    until = CLAS_CLOSES + timedelta(days=20)
    response.state = ResponseState.CORRECTION_REQUESTED
    response.correction_requests.append(CorrectionRequest(requested_by_id=None, until=until, items=[]))
    window = partner_window(response)
    assert (window.closes_at, window.is_correction_delay) == (until, True)
    db.rollback()


def test_the_sql_form_of_the_rule_agrees_with_the_rule(app, factory, db, caf_user):
    """Previews count and page through thousands of responses in SQL: the same rule, at every boundary."""
    import random

    from sqlalchemy import select

    from survey.deadline import awaits_partner, awaits_partner_clause
    from survey.models import Caf, CafWindow, Campaign, CorrectionRequest, Project, User

    caf_user("reviewer", "731", sign_in=False)
    reviewer_id = db.scalar(select(User.id))
    rng = random.Random(15)
    campaign_id = factory.campaign()
    ids = [factory.project(campaign_id, caf_number=number, caf_name=f"Caf {number}", timezone=zone)[0]
           for number, zone in (("731", "Europe/Paris"), ("974", "Indian/Reunion"), ("972", "America/Martinique"))
           for _ in range(12)]
    campaign = db.get(Campaign, campaign_id)
    martinique = db.scalar(select(Caf).where(Caf.number == "972"))
    db.add(CafWindow(caf_id=martinique.id, campaign_id=campaign_id, opens_at=campaign.opens_at,
                     closes_at=CLAS_CLOSES + timedelta(days=4, seconds=0.4)))
    offsets = [timedelta(seconds=s) for s in (-1, 0, 0.5, 1, 3600 * 3, 86400 * 2, 86400 * 4, 86400 * 9)]
    for response_id in ids:
        response = db.get(Response, response_id)
        response.state = rng.choice(list(ResponseState))
        if response.state not in (ResponseState.NOT_STARTED, ResponseState.IN_PROGRESS):
            response.submitted_at, response.receipt = CLAS_CLOSES, f"BQ-{response_id}"
        if response.state is ResponseState.VALIDATED:
            response.validated_at, response.validated_by_id = CLAS_CLOSES, reviewer_id
        if rng.random() < 0.4:
            response.extended_until = CLAS_CLOSES + rng.choice(offsets)
        for _ in range(rng.choice((0, 1, 2))):
            db.add(CorrectionRequest(response_id=response_id, requested_by_id=reviewer_id, items=[],
                                     until=CLAS_CLOSES + rng.choice(offsets),
                                     closed_at=CLAS_CLOSES if rng.random() < 0.4 else None))
    db.commit()
    for offset in offsets + [timedelta(hours=-6), timedelta(hours=7)]:
        now = CLAS_CLOSES + offset + timedelta(microseconds=rng.choice((0, 300_000, 999_999)))
        db.expire_all()
        in_sql = set(db.scalars(select(Response.id).join(Project, Response.project_id == Project.id)
                                .join(Caf, Project.caf_id == Caf.id)
                                .where(awaits_partner_clause(db, campaign, now))))
        in_python = {response_id for response_id in ids if awaits_partner(db.get(Response, response_id), now)}
        assert in_sql == in_python, now
    assert in_python, "the last moment (7 h after the closing) still awaits the extended and the overseas"
