"""The dashboard: figures per state, the response rate over time, distributions, scoped by Caf."""
import html
import re
from datetime import UTC, datetime

import pytest

from tests.conftest import complete_clas_answers

UTC = UTC


def body(response):
    return html.unescape(response.get_data(as_text=True))


def transmit(partner, clock, when, changes=None):
    pages = complete_clas_answers()
    for number, data in (changes or {}).items():
        pages[number] = {**pages[number], **data}
    for number, data in pages.items():
        partner.save_page(number, data)
    clock.set(when)
    assert partner.transmit().status_code == 302


@pytest.fixture
def campaign(factory, partner_for, clock):
    campaign = factory.campaign()
    _, (first,) = factory.project(campaign, reference="SAV-1")
    _, (second,) = factory.project(campaign, reference="SAV-2")
    factory.project(campaign, reference="SAV-3")
    _, (other,) = factory.project(campaign, reference="HSA-1", caf_number="741", caf_name="Caf de la Haute-Savoie")
    transmit(partner_for(first), clock, datetime(2024, 7, 1, 8, tzinfo=UTC))
    transmit(partner_for(second), clock, datetime(2024, 7, 3, 9, tzinfo=UTC), {3: {"qpv": "non", "tranches_age": ["lycee"]}})
    transmit(partner_for(other), clock, datetime(2024, 7, 3, 10, tzinfo=UTC), {3: {"qpv": "non"}})
    clock.set(datetime(2024, 7, 4, 12, tzinfo=UTC))
    return campaign


def row(page, label):
    """The text of the table row headed ``label``."""
    match = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", page, re.S)
    assert match, f"no row {label}"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def test_a_reviewer_sees_the_figures_of_their_caf(campaign, caf_user):
    page = body(caf_user("reviewer", "731").get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert "<strong>2</strong> bilans transmis sur <strong>3</strong> projets" in page
    assert "66,7\u00a0%" in page  # French: decimal comma, no-break space
    assert "2 (67 %)" in row(page, "Transmis") and "1 (33 %)" in row(page, "Non commencé")
    # Distribution of a yes/no question among transmitted bilans of this Caf only.
    qpv = page[page.index("Votre action se déroule dans un QPV ?"):]
    assert "1 (50 %)" in row(qpv, "Oui") and "1 (50 %)" in row(qpv, "Non")
    ages = page[page.index("Votre action concerne les"):]
    assert "1 (50 %)" in row(ages, "16 à 18 ans (lycée)")
    # A grid is a stacked table: each row counts per column.
    grid = page[page.index("<caption>Les enfants/jeunes qui participent"):]
    cells = row(grid, "Accès limité à des activités socio-culturelles").split()
    assert cells[:5] == ["2", "0", "0", "0", "0"]
    assert "HSA-1" not in page and "Caf par Caf" not in page


def test_the_response_rate_over_time(campaign, caf_user):
    page = body(caf_user("reviewer", "731").get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert row(page, "01/07/2024").split()[:2] == ["1", "33"]
    assert row(page, "02/07/2024").split()[:2] == ["1", "33"]
    assert row(page, "03/07/2024").split()[:2] == ["2", "67"]
    assert row(page, "04/07/2024").split()[:2] == ["2", "67"]
    assert 'role="img"' in page and "Bilans transmis cumulés" in page


def set_window(db, campaign_id, caf_number, opens, closes, timezone_name=None):
    from sqlalchemy import select

    from survey.models import Caf, Campaign
    from survey.operations.cafs import set_caf_window
    caf = db.scalar(select(Caf).where(Caf.number == caf_number))
    if timezone_name:
        caf.timezone = timezone_name
    set_caf_window(db, caf, db.get(Campaign, campaign_id), opens, closes)
    db.commit()


def days_shown(page):
    return re.findall(r'<th scope="row">(\d\d/\d\d/2024)</th>', page)


def test_a_caf_with_its_own_window_has_its_own_timeline(campaign, caf_user, db, clock):
    # The Caf de la Savoie opens on 2 July at 8:00 and closes on 8 July at 23:59:59, Paris time (UTC+2);
    # the campaign runs from 14 June to 15 July.
    set_window(db, campaign, "731", datetime(2024, 7, 2, 6, tzinfo=UTC), datetime(2024, 7, 8, 21, 59, 59, tzinfo=UTC))
    clock.set(datetime(2024, 7, 20, 12, tzinfo=UTC))
    reviewer = body(caf_user("reviewer", "731").get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert days_shown(reviewer) == [f"{day:02d}/07/2024" for day in range(2, 9)]
    # The bilan transmitted on 1 July, before the Caf's own opening, is counted from the first day.
    assert row(reviewer, "02/07/2024").split()[:2] == ["1", "33"]
    assert row(reviewer, "08/07/2024").split()[:2] == ["2", "67"]
    assert "du 02/07/2024 (1) au 08/07/2024 (2, soit 67 %)" in reviewer
    assert ("Calendrier propre à la Caf : ouverture le mardi 2 juillet 2024 à 8\u00a0h\u00a000, heure de Paris, "
            "fermeture le lundi 8 juillet 2024 à 23\u00a0h\u00a059, heure de Paris.") in reviewer
    admin = caf_user("admin", None)
    scoped = body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=731"))
    assert days_shown(scoped) == days_shown(reviewer)
    # The whole campaign, and a Caf on the campaign's calendar, run from the campaign's opening to its closing.
    for page in (body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord")),
                 body(caf_user("reviewer", "741").get(f"/caf/campagnes/{campaign}/tableau-de-bord"))):
        assert days_shown(page)[0] == "14/06/2024" and days_shown(page)[-1] == "15/07/2024"
        assert "Calendrier propre" not in page


def test_a_caf_timeline_is_counted_in_its_own_zone(campaign, caf_user, db, clock, factory, partner_for):
    # La Réunion (UTC+4) closes on 10 July at 23:59:59, its time; a bilan sent on 3 July at 20:30 UTC
    # is 22:30 in Paris but already 4 July in Saint-Denis.
    _, (token,) = factory.project(campaign, reference="REU-1", caf_number="974", caf_name="Caf de La Réunion")
    set_window(db, campaign, "974", datetime(2024, 6, 14, 4, tzinfo=UTC), datetime(2024, 7, 10, 19, 59, 59, tzinfo=UTC),
               "Indian/Reunion")
    transmit(partner_for(token), clock, datetime(2024, 7, 3, 20, 30, tzinfo=UTC))
    clock.set(datetime(2024, 7, 30, tzinfo=UTC))
    page = body(caf_user("admin", None).get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=974"))
    assert row(page, "03/07/2024").split()[:1] == ["0"] and row(page, "04/07/2024").split()[:1] == ["1"]
    assert days_shown(page)[-1] == "10/07/2024"
    assert "fermeture le mercredi 10 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion" in page


def test_an_administrator_sees_every_caf_and_each_one(campaign, caf_user):
    admin = caf_user("admin", None)
    page = body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert "<strong>3</strong> bilans transmis sur <strong>4</strong> projets" in page
    haute_savoie = re.search(rf'<a href="/caf/campagnes/{campaign}/tableau-de-bord\?caf=741">741 – Caf de la Haute-Savoie</a>.*?</th>(.*?)</tr>',
                             page, re.S)
    assert "Caf par Caf" in page and re.sub(r"[ \n]+", " ", re.sub(r"<[^>]+>", " ", haute_savoie.group(1))).startswith(" 100\u00a0% 1 1 ")
    one = body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=741"))
    assert "<strong>1</strong> bilan transmis sur <strong>1</strong> projet" in one


def test_another_cafs_reviewer_cannot_pick_a_caf(campaign, caf_user):
    outsider = body(caf_user("reviewer", "741").get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=731"))
    assert "<strong>1</strong> bilan transmis sur <strong>1</strong> projet" in outsider


def test_charts_are_tables_readable_without_javascript(campaign, caf_user):
    page = caf_user().get(f"/caf/campagnes/{campaign}/tableau-de-bord").get_data(as_text=True)
    assert page.count("<table") >= 10
    assert "<script>" not in page
    assert page.count('aria-hidden="true" focusable="false"') > 10


def _random_answers(questions, rng):
    """Answers to the closed questions as the engine stores them, with every kind of gap and oddity."""
    answers = {"bilan_qualitatif": "Un long bilan. " * rng.randrange(1, 300)}
    for question in questions:
        roll = rng.random()
        if roll < 0.1:
            continue  # never answered
        if roll < 0.15:
            answers[question.code] = None
        elif question.name == "matrix":
            columns = [c["code"] for c in question.columns]
            answers[question.code] = {row["code"]: rng.choice(columns + [None])
                                      for row in question.rows if rng.random() < 0.8} if roll < 0.95 else {}
        elif question.name == "multiple_choice":
            codes = [c["code"] for c in question.choices]
            answers[question.code] = rng.sample(codes, rng.randrange(0, len(codes) + 1)) + [None] * (rng.random() < 0.05)
        else:
            codes = [c["code"] for c in question.choices]
            answers[question.code] = rng.choice(codes + ["", "code-inconnu"])
    return answers


@pytest.mark.parametrize("seed", [1, 2])
def test_the_figures_computed_in_the_database_are_the_straightforward_ones(app, database_url, seed):
    """The figures come from the short answers (counted by PostgreSQL itself there): on random answers,
    they are what decoding every whole bilan gives."""
    import random

    from sqlalchemy import select, update

    from bench.common import CLAS
    from bench.prepare import campaign_with_projects
    from survey.db import get_session
    from survey.engine.definition import build_definition
    from survey.models import Caf, Campaign, Response
    from survey.reports import dashboard

    rng = random.Random(seed)
    with app.app_context():
        db = get_session()
        definition = build_definition(CLAS)
        closed = [q for q in definition.questions.values() if q.chart]
        drawn = [_random_answers(closed, rng) for _ in range(120)]
        campaign_with_projects(database_url, len(drawn), answers_for=drawn.__getitem__, state="submitted")
        campaign = db.scalars(select(Campaign)).one()
        # Some not transmitted (not counted), some validated (counted).
        ids = db.scalars(select(Response.id).where(Response.campaign_id == campaign.id).order_by(Response.id)).all()
        db.execute(update(Response).where(Response.id.in_(ids[::5])).values(state="in_progress", submitted_at=None))
        db.execute(update(Response).where(Response.id.in_(ids[1::7])).values(state="validated", validated_at=datetime.now(UTC)))
        db.commit()
        caf = db.scalars(select(Caf).order_by(Caf.number)).first()
        on_postgresql = db.get_bind().dialect.name == "postgresql"
        for caf_id in (None, caf.id):
            scope = dashboard.transmitted_responses(campaign.id, caf_id)
            decoded = dashboard.counts_in_python(db, closed, scope)  # every whole bilan decoded
            if on_postgresql:
                assert dashboard._counts_in_sql(db, closed, campaign.id, caf_id) == decoded
            assert dashboard.counts_in_python(db, closed, scope, Response.short_answers) == decoded  # elsewhere
            assert sum(decoded[1].values()) > 100 and any(decoded[0].values())


def test_the_figures_are_counted_again_after_every_change_to_a_transmitted_bilan_and_only_then(
        app, factory, partner_for, clock, caf_user):
    from sqlalchemy import event

    campaign = factory.campaign()
    first_id, (first,) = factory.project(campaign, reference="SAV-1")
    _, (second,) = factory.project(campaign, reference="SAV-2")
    transmit(partner_for(first), clock, datetime(2024, 7, 1, 8, tzinfo=UTC))
    clock.set(datetime(2024, 7, 2, 8, tzinfo=UTC))
    reviewer = caf_user("reviewer", "731")
    statements = []
    event.listen(app.extensions["db_engine"], "before_cursor_execute", lambda *args: statements.append(args[2]))

    def qpv():
        statements.clear()
        page = body(reviewer.get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
        part = page[page.index("Votre action se déroule dans un QPV ?"):]
        counted = any("json_each" in sql or "short_answers" in sql for sql in statements)
        return row(part, "Oui").split()[0], row(part, "Non").split()[0], counted

    assert qpv() == ("1", "0", True)
    assert qpv() == ("1", "0", False)  # nothing changed: the counts this process made are kept
    correction = f"/caf/reponses/{first_id}/pages/3"
    corrected = reviewer.post(correction, {"qpv": "non", "tranches_age": ["primaire"]}, from_page=correction)
    assert corrected.status_code == 302
    assert qpv() == ("0", "1", True)  # a reviewer's correction
    transmit(partner_for(second), clock, datetime(2024, 7, 3, 8, tzinfo=UTC))
    assert qpv() == ("1", "1", True)  # another bilan transmitted
    assert qpv() == ("1", "1", False)
