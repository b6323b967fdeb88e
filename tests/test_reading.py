"""Reading what partners wrote: the free texts of a campaign, filtered, searched, counted."""
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import complete_clas_answers
from tests.test_review import body

PLENTY = ("Les familles viennent chaque semaine à l'accompagnement. Une famille a témoigné.\n\n"
          "Les parents participent aux ateliers de parentalité.")
READING = "Les enfants lisent mieux. <script>alert(1)</script> Rien sur les familles ici ? Si : familles."


def transmit(factory, partner_for, campaign, reference, text, qpv="oui", caf_number="731", level=None):
    response_id, (token,) = factory.project(campaign, reference=reference, caf_number=caf_number,
                                            caf_name=f"Caf {caf_number}")
    partner = partner_for(token)
    answers = complete_clas_answers()
    answers[3]["qpv"] = qpv
    answers[8]["bilan_qualitatif"] = text
    if level:
        answers[4]["situations_enfants__difficultes_scolaires"] = level
    for number, data in answers.items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    return response_id


@pytest.fixture
def bilans(factory, partner_for):
    campaign = factory.campaign()
    transmit(factory, partner_for, campaign, "SAV-001", PLENTY, qpv="oui")
    transmit(factory, partner_for, campaign, "SAV-002", READING, qpv="non", level="quasi_aucun")
    transmit(factory, partner_for, campaign, "HSA-001", "Texte de Haute-Savoie sur les familles, assez long pour être transmis à la Caf.", caf_number="741")
    draft, (token,) = factory.project(campaign, reference="SAV-003")
    partner_for(token).save_page(8, {"bilan_qualitatif": "Brouillon jamais transmis sur les familles."})
    return campaign


def test_the_reading_view_shows_the_cafs_transmitted_texts_one_after_another(bilans, caf_user):
    page = body(caf_user().get(f"/caf/campagnes/{bilans}/textes"))
    assert "SAV-001" in page and "SAV-002" in page and "HSA-001" not in page and "SAV-003" not in page
    assert "<p>Les parents participent aux ateliers de parentalité.</p>" in page  # paragraphs kept
    assert page.count("Chambéry") >= 2  # each bilan with its commune
    admin = caf_user("admin", None)
    everything = body(admin.get(f"/caf/campagnes/{bilans}/textes"))
    assert "HSA-001" in everything and "SAV-001" in everything
    one = body(admin.get(f"/caf/campagnes/{bilans}/textes?caf=741"))
    assert "HSA-001" in one and "SAV-001" not in one
    assert admin.get(f"/caf/campagnes/{bilans}/textes?caf=999").status_code == 404


def test_the_texts_are_filtered_by_closed_answers_and_grid_rows(bilans, caf_user):
    reviewer = caf_user()
    not_qpv = body(reviewer.get(f"/caf/campagnes/{bilans}/textes?r.qpv=non"))
    assert "SAV-002" in not_qpv and "SAV-001" not in not_qpv
    row = body(reviewer.get(f"/caf/campagnes/{bilans}/textes?r.situations_enfants.difficultes_scolaires=quasi_aucun"))
    assert "SAV-002" in row and "SAV-001" not in row
    ignored = body(reviewer.get(f"/caf/campagnes/{bilans}/textes?r.qpv=n-importe-quoi"))
    assert "SAV-001" in ignored and "SAV-002" in ignored  # an unknown choice filters nothing


def test_search_finds_word_forms_ranks_and_highlights_escaped_excerpts(bilans, caf_user):
    answer = caf_user().get(f"/caf/campagnes/{bilans}/textes?q=familles")
    page, raw = body(answer), answer.get_data(as_text=True)
    assert "2 bilans contiennent « familles »" in page
    assert page.index("SAV-001") < page.index("SAV-002")  # « familles » and « famille » weigh more
    assert "<mark>familles</mark>" in page and "<mark>famille</mark>" in page
    assert "<script>alert" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt; Rien sur les familles" in raw
    assert "Rien sur les <mark>familles</mark>" in raw
    none = body(caf_user(email="second@caf.example").get(f"/caf/campagnes/{bilans}/textes?q=les+de"))
    assert "trop courants" in none


def test_search_stems_french_words_on_postgresql_and_matches_word_starts_on_sqlite(bilans, caf_user, db):
    reviewer = caf_user()
    parentality = body(reviewer.get(f"/caf/campagnes/{bilans}/textes?q=parent"))
    assert "<mark>parentalité</mark>" in parentality  # both: a word's start (SQLite), a stem's prefix (PostgreSQL)
    page = body(reviewer.get(f"/caf/campagnes/{bilans}/textes?q=parents+accompagner"))
    if db.get_bind().dialect.name == "postgresql":  # French stemming: « accompagner » finds « accompagnement »
        assert "1 bilan contient" in page and "SAV-001" in page
        assert "<mark>accompagnement</mark>" in page
    else:  # the plain search has no stemming: a verb does not find its noun
        assert "SAV-001" not in page and "<mark>accompagnement</mark>" not in page


def test_frequent_terms_leave_stop_words_out_and_link_to_the_bilans(bilans, caf_user):
    page = body(caf_user().get(f"/caf/campagnes/{bilans}/termes"))
    table = page[page.index("<table"):]
    assert 'Mot : </span><a href="' in table and ">familles</a>" in table
    for stop_word in (">les</a>", ">de</a>", ">sur</a>", ">l'accompagnement</a>"):
        assert stop_word not in table
    assert ">accompagnement</a>" in table
    row = table[table.index(">familles</a>"):]
    assert row.index("3") < row.index("</tr>")  # twice in SAV-002, once in SAV-001; the draft and 741 not counted
    assert "q=familles" in table


def count_statements(client, url):
    seen = []

    def record(*_args):
        seen.append(1)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return len(seen)


def test_the_reading_pages_run_as_many_statements_for_many_bilans_as_for_few(factory, partner_for, caf_user):
    campaign = factory.campaign()
    transmit(factory, partner_for, campaign, "SAV-001", PLENTY)
    reviewer = caf_user()
    urls = [f"/caf/campagnes/{campaign}/textes", f"/caf/campagnes/{campaign}/textes?q=familles&r.qpv=oui",
            f"/caf/campagnes/{campaign}/termes"]
    few = [count_statements(reviewer.client, url) for url in urls]
    for number in range(2, 7):
        transmit(factory, partner_for, campaign, f"SAV-00{number}", READING)
    assert [count_statements(reviewer.client, url) for url in urls] == few


def count_statements_of_post(user, url, data):
    seen = []

    def record(*_args):
        seen.append(1)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert user.client.post(url, data={"csrf_token": user.csrf(), **data}).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return len(seen)
