"""One response per project and campaign, whatever arrives at the same instant."""
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.models import Response, ResponseState
from tests.conftest import complete_clas_answers


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
