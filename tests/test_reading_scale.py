"""The reading pages cut their work in SQL: filters, counts, pages and the ranked search run in the database,
with the same bilans, order and excerpts as the straightforward computation over every bilan."""
import random
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from survey.models import Response
from survey.questionnaires import response_definition
from survey.reports import reading
from tests.conftest import complete_clas_answers
from tests.test_review import body

WORDS = ["familles", "famille", "parents", "parentalité", "enfants", "lecture", "confiance", "accompagnement",
         "ateliers", "devoirs", "autonomie", "quartier", "bibliothèque", "sorties", "école"]
NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)


def answered(db, factory, campaign, reference, answers):
    """A transmitted bilan written straight through the model (as the partner's saves do), without HTTP."""
    response_id, _ = factory.project(campaign, reference=reference)
    response = db.get(Response, response_id)
    response.record_edit(answers, {}, NOW, response_definition(response).free_text_codes)
    response.mark_submitted(NOW, f"BQ-{reference}")
    db.commit()
    return response_id


def clas_answers(text_of_bilan, **closed):
    answers = {code: value for page in complete_clas_answers().values() for code, value in page.items()}
    answers.update(closed, bilan_qualitatif=text_of_bilan)
    return answers


@pytest.fixture
def many(db, factory):
    """Twelve bilans of random texts (one with two free-text paragraphs), every other one in a QPV."""
    campaign = factory.campaign()
    rng = random.Random(15)
    for number in range(12):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 60))]
        story = " ".join(words).capitalize() + ". Les enfants progressent."
        answered(db, factory, campaign, f"R-{number:02d}", clas_answers(story, qpv="oui" if number % 2 else "non"))
    return campaign


def test_a_transmitted_bilan_keeps_its_free_texts_in_one_column_as_its_answers_change(db, factory, caf_user, many):
    response = db.scalars(select(Response).where(Response.campaign_id == many).order_by(Response.id)).first()
    assert response.free_text == response.answers["bilan_qualitatif"]
    reviewer = caf_user()
    page = reviewer.get(f"/caf/reponses/{response.id}/pages/8")
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True)).group(1)
    new_text = "Texte corrigé par la Caf : les grands-parents viennent aux sorties du mercredi, chaque semaine."
    assert reviewer.post(f"/caf/reponses/{response.id}/pages/8", {
        "version": version, "bilan_qualitatif": new_text, "reason": "Précision demandée par téléphone"}).status_code == 302
    db.expire_all()
    assert db.get(Response, response.id).free_text == new_text
    found = body(reviewer.get(f"/caf/campagnes/{many}/textes?q=grands-parents+mercredi"))
    assert "1 bilan contient" in found and "R-00" in found


def test_pages_are_cut_in_sql_and_a_page_past_the_end_shows_the_last(monkeypatch, caf_user, many):
    monkeypatch.setattr("survey.blueprints.reading.PAGE_SIZE", 5)
    reviewer = caf_user()
    shown = []
    for number in (1, 2, 3):
        page = body(reviewer.get(f"/caf/campagnes/{many}/textes?page={number}"))
        assert f"12 bilans, page {number} sur 3." in page
        shown.append(re.findall(r">(R-\d\d)</a>", page))
    assert [len(references) for references in shown] == [5, 5, 2]
    assert sum(shown, []) == [f"R-{number:02d}" for number in range(12)]  # by reference, each once
    past = body(reviewer.get(f"/caf/campagnes/{many}/textes?page=9"))
    assert "page 3 sur 3" in past and re.findall(r">(R-\d\d)</a>", past) == shown[2]
    qpv = body(reviewer.get(f"/caf/campagnes/{many}/textes?r.qpv=oui&page=2"))
    assert "6 bilans, page 2 sur 2." in qpv and re.findall(r">(R-\d\d)</a>", qpv) == ["R-11"]


def test_a_search_gives_the_same_ranking_page_after_page_as_on_one_page(monkeypatch, caf_user, many):
    reviewer = caf_user()
    whole = re.findall(r">(R-\d\d)</a>", body(reviewer.get(f"/caf/campagnes/{many}/textes?q=familles+enfants")))
    assert len(whole) >= 4
    monkeypatch.setattr("survey.blueprints.reading.PAGE_SIZE", 3)
    paged = []
    for number in range(1, -(-len(whole) // 3) + 1):
        paged += re.findall(r">(R-\d\d)</a>", body(reviewer.get(f"/caf/campagnes/{many}/textes?q=familles+enfants&page={number}")))
    assert paged == whole


# The search as it was before the stored vectors (migration 0010): each bilan's vector computed at query time
# from its answers. The stored vectors and the pages in SQL must give the same bilans, ranks and excerpts.
STRAIGHTFORWARD = text("""
    WITH q AS (SELECT to_tsquery('french', array_to_string(ARRAY(
                   SELECT quote_literal(lexeme) || ':*' FROM unnest(to_tsvector('french', :words))), ' & ')) AS query),
         doc AS (SELECT r.id, array_to_string(ARRAY(
                     SELECT r.answers ->> c FROM unnest(CAST(:codes AS text[])) AS c), E'\\n\\n') AS body
                 FROM responses r WHERE r.campaign_id = :campaign AND r.submitted_at IS NOT NULL),
         vec AS (SELECT doc.id, doc.body, to_tsvector('french', doc.body) AS vector FROM doc)
    SELECT vec.id, ts_rank(vec.vector, q.query) AS rank,
           ts_headline('french', vec.body, q.query, 'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                       || ', MaxFragments=3, MaxWords=35, MinWords=15, FragmentDelimiter=' || chr(1)) AS headline
    FROM vec, q WHERE vec.vector @@ q.query
    ORDER BY rank DESC, vec.id
""")


@pytest.mark.parametrize("query", ["familles", "parents", "enfants confiance", "accompagner", "écoles", "lecture sorties"])
def test_the_stored_vectors_rank_and_excerpt_as_the_query_time_computation(db, many, query):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's text search (SQLite searches in Python, tested in test_reading.py)")
    from survey.models import Campaign
    from survey.questionnaires import campaign_definition

    definition = campaign_definition(db.get(Campaign, many))
    expected = db.execute(STRAIGHTFORWARD, {"words": query, "codes": list(definition.free_text_codes),
                                            "campaign": many}).all()
    selection = reading.Selection(many, definition, None, {})
    total, page, pages, found = reading.search(db, selection, query, 1, 100)
    assert (total, page, pages) == (len(expected), 1, 1)
    assert [(b.response_id, b.rank) for b in found] == [(row.id, row.rank) for row in expected]
    assert [b.excerpts for b in found] == [
        [reading._marked(part) for part in row.headline.split("\x01") if part.strip()] for row in expected]
    plan = "\n".join(db.execute(text("EXPLAIN SELECT id FROM responses WHERE submitted_at IS NOT NULL AND "
                                     "search_vector @@ to_tsquery('french', 'famill:*')")).scalars())
    assert "ix_responses_search_vector" in plan or "Seq Scan" in plan  # the index exists (a tiny table may skip it)
    assert db.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_responses_search_vector'")) == 1


def holds(answers: dict, key: str, wanted: str) -> bool:
    """The straightforward rule the SQL filters follow: the value is the choice, or a list that holds it."""
    code, _, row = key.partition(".")
    value = answers.get(code)
    if row:
        value = value.get(row) if isinstance(value, dict) else None
    return value == wanted or (isinstance(value, list) and wanted in value)


def test_the_filters_in_sql_select_what_the_straightforward_rule_selects_on_random_answers(db, factory):
    campaign = factory.campaign()
    rng = random.Random(7)
    values = ["a", "b", "oui", ["a"], ["a", "b"], [], None, 1, {"r1": "a"}, {"r1": ["a", "b"], "r2": "b"}, "x" * 250]
    stored = {}
    for number in range(40):
        answers = {code: rng.choice(values) for code in ("qpv", "tranches", "grille") if rng.random() < .8}
        stored[answered(db, factory, campaign, f"F-{number:02d}", clas_answers("Un texte.") | answers)] = answers
    keys = ["qpv", "tranches", "grille.r1", "grille.r2", "inconnu"]
    dialect = db.get_bind().dialect.name
    base = clas_answers("Un texte.")
    sizes = set()
    for _ in range(25):
        chosen = {key: rng.choice(["a", "b", "oui"]) for key in rng.sample(keys, rng.randint(1, 2))}
        selection = reading.Selection(campaign, None, None, chosen)
        found = set(db.scalars(selection.select(Response.id, dialect=dialect)))
        expected = {rid for rid, answers in stored.items()
                    if all(holds(base | answers, key, wanted) for key, wanted in chosen.items())}
        assert found == expected, chosen
        sizes.add(len(found))
    assert 0 in sizes and len(sizes) >= 4  # empty and varied selections: the comparison says something


def straightforward_terms(texts: list[str], limit: int) -> list[tuple[str, int, int]]:
    """Frequent terms as first written: the word pattern over each whole text."""
    from collections import Counter

    counts, bilans_of, spellings = Counter(), Counter(), {}
    for written in texts:
        keys = set()
        for word, number in Counter(reading._WORD.findall(written.lower())).items():
            bare = reading._ELISION.sub("", word)
            key = reading.fold(bare)
            if len(key) >= 3 and key not in reading.STOP_WORDS:
                counts[key] += number
                spellings.setdefault(key, Counter())[bare] += number
                keys.add(key)
        bilans_of.update(keys)
    ranked = sorted(counts, key=lambda key: (-counts[key], -bilans_of[key], key))[:limit]  # ties: bilans, then word
    return [(min(spellings[key].items(), key=lambda s: (-s[1], s[0]))[0], counts[key], bilans_of[key]) for key in ranked]


def test_frequent_terms_are_those_of_the_word_pattern_over_each_whole_text(db, factory):
    campaign = factory.campaign()
    rng = random.Random(3)
    pieces = WORDS + ["L’enfant", "l'école", "d’abord", "Grands-parents", "aujourd'hui", "qu’il", "Été", "ÉTÉ", "été",
                      "CE2", "2024", "—", "«", "»", "(familles)", "familles,", "parents.", "-", "’", "œuvre", "Œuvre"]
    separators = [" ", " ", " ", "\n", "\n\n", "\u00a0", "\t", ", ", "/", "…"]
    texts = []
    for number in range(15):
        story = "".join(rng.choice(pieces) + rng.choice(separators) for _ in range(rng.randint(30, 120)))
        texts.append(story)
        answered(db, factory, campaign, f"T-{number:02d}", clas_answers(story))
    from survey.models import Campaign
    from survey.questionnaires import campaign_definition

    selection = reading.Selection(campaign, campaign_definition(db.get(Campaign, campaign)), None, {})
    total, terms = reading.frequent_terms(db, selection, limit=1000)
    assert total == 15 and len(terms) > 20
    assert terms == straightforward_terms(texts, 1000)
