"""One response per project and campaign, one reminder a day per project, whatever arrives at the same instant."""
import threading
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.mail import rounds
from survey.models import EmailKind, Response, ResponseState
from tests.conftest import complete_clas_answers
from tests.mail_support import UTC, logs


def run_together(*actions):
    """Run the actions in threads released at the same instant; return their results."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_database_refuses_a_second_response_for_a_project(factory, db):
    campaign = factory.campaign()
    response_id, _ = factory.project(campaign)
    project_id = db.get(Response, response_id).project_id
    db.add(Response(campaign_id=campaign, project_id=project_id, definition_version=1, answers={}, invalid={}))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_submitted_at_is_set_exactly_when_submitted(factory, db):
    response_id, _ = factory.project(factory.campaign())
    response = db.get(Response, response_id)
    response.state = ResponseState.SUBMITTED  # bypassing mark_submitted
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


@pytest.mark.parametrize("attempt", range(6))
def test_two_contacts_transmitting_at_once_make_one_transmission(factory, partner_for, db, attempt):
    response_id, (first, second) = factory.project(factory.campaign(), contacts=("a@x.fr", "b@x.fr"))
    alice, bob = partner_for(first), partner_for(second)
    for number, data in complete_clas_answers().items():
        alice.save_page(number, data)
    for partner in (alice, bob):
        partner.get("/bilan/recapitulatif")
    posts = [lambda p=p: p.client.post("/bilan/transmettre", data={**p.hidden(), "certifie": "oui"}) for p in (alice, bob)]
    results = run_together(*posts)
    assert sorted(r.status_code for r in results) == [302, 302]
    assert all(r.location.endswith("/bilan/accuse-de-reception") for r in results)
    db.expire_all()
    responses = db.scalars(select(Response).where(Response.project_id == db.get(Response, response_id).project_id)).all()
    assert len(responses) == 1 and responses[0].state is ResponseState.SUBMITTED
    receipts = {alice.get("/bilan/accuse-de-reception").get_data(as_text=True).count(responses[0].receipt),
                bob.get("/bilan/accuse-de-reception").get_data(as_text=True).count(responses[0].receipt)}
    assert 0 not in receipts


def test_two_tabs_saving_at_once_never_lose_silently(factory, partner_for, db):
    response_id, (token,) = factory.project(factory.campaign())
    one = partner_for(token)
    other = partner_for(token)
    one.get("/bilan/page/2")
    other.get("/bilan/page/2")
    results = run_together(
        lambda: one.save_page(2, {"lieu_action": "Onglet 1"}, reload=False),
        lambda: other.save_page(2, {"lieu_action": "Onglet 2"}, reload=False),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [302, 409]
    winner = "Onglet 1" if results[0].status_code == 302 else "Onglet 2"
    db.expire_all()
    assert db.get(Response, response_id).answers["lieu_action"] == winner


def test_two_reviewers_launching_reminders_at_once_remind_each_project_once(factory, caf_user, db, clock, monkeypatch):
    """The first launch is held inside its planning, after it took the campaign's lock: the second must wait for
    it, then find every project reminded today, rather than read the same candidates and remind them again."""
    campaign = factory.campaign()
    for reference in ("P-1", "P-2"):
        factory.project(campaign, contacts=(f"{reference.lower()}@asso.example",), reference=reference)
    first, second = caf_user("reviewer", "731"), caf_user("reviewer", "731", email="autre@caf731.example")
    clock.now = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    form = f"/caf/campagnes/{campaign}/courriels"
    for client in (first, second):
        client.get(form)
    inside, release, real_candidates = threading.Event(), threading.Event(), rounds._candidates

    def held_candidates(*args):
        if not inside.is_set():
            inside.set()
            assert release.wait(20)
        return real_candidates(*args)
    monkeypatch.setattr(rounds, "_candidates", held_candidates)
    answers = {}

    def launch(name, client, days):
        answers[name] = client.post(form, {"envoi": "relance", "jours": days}, from_page=form)
    threads = [threading.Thread(target=launch, args=("first", first, "14"))]
    threads[0].start()
    assert inside.wait(20)
    threads.append(threading.Thread(target=launch, args=("second", second, "7")))
    threads[1].start()
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second launch read its candidates while the first was planning"
    release.set()
    for thread in threads:
        thread.join(30)
    assert answers["first"].status_code == 303 and answers["second"].status_code == 409
    assert "2 projets ont déjà été relancés aujourd’hui" in answers["second"].get_data(as_text=True)
    assert sorted((log.round, log.contact.email) for log in logs(db, kind=EmailKind.REMINDER)) == [
        ("J-14/731", "p-1@asso.example"), ("J-14/731", "p-2@asso.example")]
