"""The dashboard: figures per state, the response rate over time, distributions, scoped by Caf."""
import html
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import complete_clas_answers

UTC = timezone.utc


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
    assert "<strong>2</strong> bilan(s) transmis sur <strong>3</strong> projet(s)" in page
    assert "66.7 %" in page
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


def test_an_administrator_sees_every_caf_and_each_one(campaign, caf_user):
    admin = caf_user("admin", None)
    page = body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    assert "<strong>3</strong> bilan(s) transmis sur <strong>4</strong> projet(s)" in page
    assert "Caf par Caf" in page and "1 (100 %)" in row(page, '<a href="/caf/campagnes/%d/tableau-de-bord?caf=741">Caf de la Haute-Savoie</a>' % campaign)
    one = body(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=741"))
    assert "<strong>1</strong> bilan(s) transmis sur <strong>1</strong> projet(s)" in one


def test_another_cafs_reviewer_cannot_pick_a_caf(campaign, caf_user):
    outsider = body(caf_user("reviewer", "741").get(f"/caf/campagnes/{campaign}/tableau-de-bord?caf=731"))
    assert "<strong>1</strong> bilan(s) transmis sur <strong>1</strong> projet(s)" in outsider


def test_charts_are_tables_readable_without_javascript(campaign, caf_user):
    page = caf_user().get(f"/caf/campagnes/{campaign}/tableau-de-bord").get_data(as_text=True)
    assert page.count("<table") >= 10
    assert "<script>" not in page
    assert page.count('aria-hidden="true" focusable="false"') > 10
