"""Last year beside this one on the dashboard (per Caf and nationally), and the administrators' table of the Cafs."""
import copy
import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from survey.db import get_session
from survey.models import Campaign, Contact, Response
from survey.operations import enrol_project, issue_link
from survey.reports.comparison import forget_counted
from survey.reports.dashboard import forget_counts
from tests.conftest import CLAS, complete_clas_answers

UTC = UTC
NEXT_OPENS, NEXT_CLOSES = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 15, 21, 59, 59, tzinfo=UTC)


def next_year_content():
    """Clas again, a year on: the QPV question and the grids unchanged, two questions asked differently."""
    content = copy.deepcopy(CLAS)
    content["code"], content["title"] = "clas-2024-2025-essai", "Clas 2024-2025 : bilan qualitatif"
    questions = {q["code"]: q for page in content["pages"] for q in page["questions"]}
    questions["tranches_age"]["label"] = "Votre action concerne les enfants de"  # new wording
    questions["statut_structure"]["choices"][1]["label"] = "Public (commune, CCAS)"  # new options
    return content


def body(response):
    return html.unescape(response.get_data(as_text=True))


def row(page, label):
    match = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", page, re.S)
    assert match, f"no row {label}"
    return squeeze(re.sub(r"<[^>]+>", " ", match.group(1)))


def squeeze(text):
    """Runs of spaces and line breaks as one space (no-break spaces kept: they are part of the French figures)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def section(page, caption):
    """The chart whose caption is ``caption``, up to its note."""
    start = page.index(f"<caption>{caption}</caption>")
    return page[start:page.index('class="hint"', start)]


def transmit(partner, changes=None):
    pages = complete_clas_answers()
    for number, data in (changes or {}).items():
        pages[number] = {**pages[number], **data}
    for number, data in pages.items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302


def enrol_again(app, campaign_id, response_ids):
    """The projects of ``response_ids`` enrolled in ``campaign_id``; their new personal link tokens."""
    tokens = []
    with app.app_context():
        db = get_session()
        for response_id in response_ids:
            project = db.get(Response, response_id).project
            response = enrol_project(db, db.get(Campaign, campaign_id), project)
            contact = db.scalar(select(Contact).where(Contact.project_id == project.id))
            tokens.append(issue_link(db, contact, response))
        db.commit()
    return tokens


@pytest.fixture
def two_years(app, factory, partner_for, clock):
    """2024: Savoie transmits 2 of 3 (QPV oui, non), Haute-Savoie 1 of 1. 2025: Savoie 1 of 3 (QPV non), Haute-Savoie 0."""
    clock.set(datetime(2024, 7, 1, 8, tzinfo=UTC))
    last = factory.campaign()
    ids, tokens = [], []
    for reference, number, name in (("SAV-1", "731", "Caf de la Savoie"), ("SAV-2", "731", "Caf de la Savoie"),
                                    ("SAV-3", "731", "Caf de la Savoie"), ("HSA-1", "741", "Caf de la Haute-Savoie")):
        response_id, (token,) = factory.project(last, reference=reference, caf_number=number, caf_name=name)
        ids.append(response_id)
        tokens.append(token)
    transmit(partner_for(tokens[0]))
    transmit(partner_for(tokens[1]), {3: {"qpv": "non"}})
    transmit(partner_for(tokens[3]), {3: {"qpv": "non"}})
    # Another programme opened in between, with none of these projects: never taken for last year.
    factory.campaign(opens=datetime(2025, 1, 1, tzinfo=UTC), closes=datetime(2025, 2, 1, tzinfo=UTC), code="autre-dispositif")
    current = factory.campaign(next_year_content(), opens=NEXT_OPENS, closes=NEXT_CLOSES)
    new_tokens = enrol_again(app, current, ids)
    clock.set(datetime(2025, 6, 10, tzinfo=UTC))
    transmit(partner_for(new_tokens[0]), {3: {"qpv": "non"}})
    return current


def test_a_reviewer_sees_their_cafs_figures_beside_last_years(two_years, caf_user):
    page = body(caf_user("reviewer", "731").get(f"/caf/campagnes/{two_years}/tableau-de-bord"))
    rates = section(page, "Taux de réponse, cette année et l’an dernier")
    assert row(rates, "Clas 2024-2025 : bilan qualitatif") == "3 1 33,3\u00a0%"
    assert row(rates, "Clas 2023-2024 : bilan qualitatif <span class=\"tag\">l’an dernier</span>") == "3 2 66,7\u00a0%"
    qpv = section(page, "Votre action se déroule dans un QPV ?")
    assert "Cette année" in qpv and "L’an dernier" in qpv
    assert row(qpv, "Oui") == "0 (0 %) 1 (50 %)" and row(qpv, "Non") == "1 (100 %) 1 (50 %)"
    grid = section(page, "Les enfants/jeunes qui participent au Clas sont-ils concernés par les situations suivantes")
    assert 'class="last-year"' in grid, "a grid asked identically gets last year's line under each row"
    # Asked differently this year (wording, options): shown alone.
    assert "L’an dernier" not in section(page, "Votre action concerne les enfants de")
    assert "L’an dernier" not in section(page, "Statut de la structure")
    assert "HSA-1" not in page and "Caf par Caf" not in page, "reviewers never see the table of the Cafs"


def test_another_cafs_reviewer_compares_with_their_own_caf(two_years, caf_user):
    page = body(caf_user("reviewer", "741").get(f"/caf/campagnes/{two_years}/tableau-de-bord"))
    rates = section(page, "Taux de réponse, cette année et l’an dernier")
    assert row(rates, "Clas 2024-2025 : bilan qualitatif") == "1 0 0\u00a0%"
    assert row(rates, "Clas 2023-2024 : bilan qualitatif <span class=\"tag\">l’an dernier</span>") == "1 1 100\u00a0%"
    assert row(section(page, "Votre action se déroule dans un QPV ?"), "Non") == "0 (0 %) 1 (100 %)"


def test_administrators_compare_nationally_and_see_the_cafs_side_by_side_latest_first(two_years, caf_user):
    admin = caf_user("admin", None)
    page = body(admin.get(f"/caf/campagnes/{two_years}/tableau-de-bord"))
    rates = section(page, "Taux de réponse, cette année et l’an dernier")
    assert row(rates, "Clas 2024-2025 : bilan qualitatif") == "4 1 25\u00a0%"
    assert row(rates, "Clas 2023-2024 : bilan qualitatif <span class=\"tag\">l’an dernier</span>") == "4 3 75\u00a0%"
    assert row(section(page, "Votre action se déroule dans un QPV ?"), "Oui") == "0 (0 %) 1 (33 %)"
    cafs = page[page.index("<caption>Avancement de chaque Caf, les plus en retard d’abord</caption>"):]
    cafs = cafs[:cafs.index("</table>")]
    headers = [squeeze(re.sub(r"<[^>]+>", "", header)) for header in re.findall(r'<th scope="col">(.*?)</th>', cafs, re.S)]
    assert headers[:8] == ["Caf", "Taux de réponse", "Taux l’an dernier", "Projets", "Transmis", "À valider", "Validés",
                           "En attente du partenaire"]
    lines = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", cafs, re.S)
    figures = [squeeze(re.sub(r"<[^>]+>", " ", line)) for line in lines]
    assert figures == ["741 – Caf de la Haute-Savoie projets de la Caf 741 0\u00a0% 100\u00a0% 1 0 0 0 1",
                       "731 – Caf de la Savoie projets de la Caf 731 33,3\u00a0% 66,7\u00a0% 3 1 1 0 2"]
    assert f'href="/caf/campagnes/{two_years}/tableau-de-bord?caf=741"' in cafs
    by_number = body(admin.get(f"/caf/campagnes/{two_years}/tableau-de-bord?tri=caf"))
    assert by_number.index("731 – Caf de la Savoie") < by_number.index("741 – Caf de la Haute-Savoie")
    # Each Caf's list, from its line.
    listed = body(admin.get(f"/caf/campagnes/{two_years}?caf=741"))
    assert "HSA-1" in listed and "SAV-1" not in listed and "Caf 741" in listed
    assert admin.get(f"/caf/campagnes/{two_years}?caf=999").status_code == 404
    # One Caf picked: its own comparison, no table of the Cafs.
    one = body(admin.get(f"/caf/campagnes/{two_years}/tableau-de-bord?caf=741"))
    assert "Caf par Caf" not in one and "100\u00a0%" in one


def test_a_reviewer_cannot_narrow_the_list_to_another_caf(two_years, caf_user):
    page = body(caf_user("reviewer", "741").get(f"/caf/campagnes/{two_years}?caf=731"))
    assert "HSA-1" in page and "SAV-1" not in page


def test_the_dashboard_needs_a_sign_in(two_years, app):
    answer = app.test_client().get(f"/caf/campagnes/{two_years}/tableau-de-bord")
    assert answer.status_code == 302 and "/connexion" in answer.location


def test_the_first_campaign_has_nothing_to_compare(factory, partner_for, caf_user):
    campaign = factory.campaign()
    _, (token,) = factory.project(campaign)
    transmit(partner_for(token))
    page = body(caf_user("admin", None).get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert "L’an dernier" not in page and "Taux l’an dernier" not in page and "Caf par Caf" in page


def statements(app, client, url):
    """The statements of one request, both years' figures counted afresh (the worst case: nothing kept)."""
    forget_counted()
    forget_counts()
    counted = []
    listener = lambda *args: counted.append(1)  # noqa: E731
    event.listen(app.extensions["db_engine"], "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(app.extensions["db_engine"], "before_cursor_execute", listener)
    return len(counted)


def test_the_comparison_and_the_cafs_table_run_as_many_statements_with_101_cafs(
        app, two_years, factory, partner_for, caf_user):
    admin, reviewer = caf_user("admin", None), caf_user("reviewer", "731")
    urls = [(admin, f"/caf/campagnes/{two_years}/tableau-de-bord"), (admin, f"/caf/campagnes/{two_years}/tableau-de-bord?tri=taux"),
            (reviewer, f"/caf/campagnes/{two_years}/tableau-de-bord")]
    for who, url in urls:
        who.get(url)  # warm: the compiled definitions, the signed-in user
    few = [statements(app, who.client, url) for who, url in urls]
    last = get_session_campaign(app, two_years)
    for n in range(99):
        response_id, (token,) = factory.project(last, reference=f"N-{n:03d}", caf_number=str(800 + n), caf_name=f"Caf {800 + n}")
        (new_token,) = enrol_again(app, two_years, [response_id])
        if n % 3 == 0:
            transmit(partner_for(new_token))
    many = [statements(app, who.client, url) for who, url in urls]
    assert many == few
    page = body(admin.get(f"/caf/campagnes/{two_years}/tableau-de-bord"))
    assert page.count("projets<span class=\"visually-hidden\"> de la Caf") == 101


def get_session_campaign(app, current_id):
    """The id of the campaign before ``current_id`` (the 2024 one)."""
    with app.app_context():
        db = get_session()
        current = db.get(Campaign, current_id)
        return db.scalar(select(Campaign.id).where(Campaign.opens_at < current.opens_at, Campaign.code != "autre-dispositif"))


def test_a_caf_new_this_year_has_nothing_to_compare(two_years, factory, partner_for, caf_user, clock):
    _, (token,) = factory.project(two_years, reference="NEW-1", caf_number="75", caf_name="Caf de Paris")
    transmit(partner_for(token))
    page = body(caf_user("reviewer", "75").get(f"/caf/campagnes/{two_years}/tableau-de-bord"))
    assert "L’an dernier" not in page and "Taux de réponse, cette année et l’an dernier" not in page
    national = body(caf_user("admin", None).get(f"/caf/campagnes/{two_years}/tableau-de-bord?tri=caf"))
    cafs = national[national.index("<caption>Avancement de chaque Caf"):]
    assert cafs.index("75 – Caf de Paris") < cafs.index("731 – Caf de la Savoie"), "75 before 731: numeric order"
    paris = re.search(r"75 – Caf de Paris</a>.*?</th>(.*?)</tr>", cafs, re.S).group(1)
    assert "pas de projet l’an dernier" in paris


def test_last_years_figures_follow_a_change_made_after_they_were_counted(two_years, app, caf_user):
    reviewer = caf_user("reviewer", "731")
    qpv = section(body(reviewer.get(f"/caf/campagnes/{two_years}/tableau-de-bord")), "Votre action se déroule dans un QPV ?")
    assert row(qpv, "Oui") == "0 (0 %) 1 (50 %)"
    with app.app_context():  # a correction of last year's bilan, after the dashboard counted it
        db = get_session()
        last = db.scalar(select(Response).join(Response.project).where(
            Response.campaign_id != two_years, Response.project.has(reference="SAV-2")))
        last.answers = {**last.answers, "qpv": "oui"}
        db.commit()

    qpv = section(body(reviewer.get(f"/caf/campagnes/{two_years}/tableau-de-bord")), "Votre action se déroule dans un QPV ?")
    assert row(qpv, "Oui") == "0 (0 %) 2 (100 %)" and row(qpv, "Non") == "1 (100 %) 0 (0 %)"
