"""Reading the free texts of a campaign: the selection, its filters, full-text search, frequent terms.

Read-only. A selection costs a fixed number of statements whatever the number
of bilans: one for the bilans (their answers included), one more for the
ranked search on PostgreSQL.
"""
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..engine.definition import Definition
from ..models import Caf, Project, Response

# Closed questions a selection can be filtered on.
EXCERPT_CHARS = 240
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
# Markers PostgreSQL's ts_headline puts around a match; the text is escaped before they become <mark>.
_START, _STOP = "\x02", "\x03"
_ELISION = re.compile(r"^(?:qu|[cdjlmnst])['’]")

# French stop words (articles, pronouns, auxiliaries, prepositions, conjunctions, very common adverbs).
STOP_WORDS = frozenset("""
a à afin ai aie aient aies ait alors as au aucun aucune aupres auprès aura aurai auraient aurais aurait auras aurez
auriez aurions aurons auront aussi autre autres aux avaient avais avait avant avec avez aviez avions avoir avons ayant
beaucoup bien c ça car ce ceci cela celle celles celui cependant certain certaines certains ces cet cette ceux chaque
chez ci comme comment d dans de des deux devant donc dont du elle elles en encore entre es est et étaient étais était
étant été être eu eue eues eurent eus eut eux fait faire fois font furent fut grâce ici il ils j je jusqu l la le les
leur leurs lors lui m ma mais me même mêmes mes moi moins mon n ne ni nos notre nous on ont ou où par parce pas peu
peut plus plusieurs pour pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans se sera serait ses si
sien son sont sous soyez sur t ta tant te tes toi ton tous tout toute toutes très tu un une uns vers via vos votre
vous y également ainsi après déjà dont enfin lorsque puis selon tels telle telles tel
""".split())


@dataclass
class Bilan:
    """One bilan in the reading view: its project, and its free texts in the definition's order."""

    response_id: int
    reference: str
    structure: str
    commune: str | None
    caf: str
    texts: list[tuple[str, str]]  # (question label, text)
    excerpts: list[Markup] = field(default_factory=list)
    rank: float = 0.0


@dataclass
class Filter:
    """A closed answer to filter on: ``key`` is ``code`` or ``code.row`` (a grid's row), ``value`` a choice code."""

    key: str
    label: str
    options: list[tuple[str, str]]  # (choice code, label)
    group: str = ""  # a grid's question, over its rows


def free_text_questions(definition: Definition) -> list:
    return [q for q in definition.questions.values() if q.is_free_text]


def filters_of(definition: Definition) -> list[Filter]:
    """Every closed question (and every grid row) a reader may filter the bilans on."""
    return [Filter(key, label, options, group)
            for question in definition.questions.values() for key, label, options, group in question.filters()]


def grouped(filters: list[Filter]) -> list[tuple[str, list[Filter]]]:
    """Consecutive filters of one grid together, in the questionnaire's order: (grid's question or "", filters)."""
    groups: list[tuple[str, list[Filter]]] = []
    for one in filters:
        if groups and groups[-1][0] == one.group:
            groups[-1][1].append(one)
        else:
            groups.append((one.group, [one]))
    return groups


def matches(answers: dict, chosen: dict[str, str]) -> bool:
    """Whether the answers hold every chosen closed answer (a multiple choice: among those ticked)."""
    for key, wanted in chosen.items():
        code, _, row = key.partition(".")
        value = answers.get(code)
        if row:
            value = value.get(row) if isinstance(value, dict) else None
        if not (value == wanted or (isinstance(value, list) and wanted in value)):
            return False
    return True


def select_bilans(db: Session, campaign_id: int, definition: Definition, caf_id: int | None,
                  chosen: dict[str, str]) -> list[Bilan]:
    """The transmitted bilans of the campaign (one Caf's with ``caf_id``) that hold the chosen answers,
    by project reference, with their non-empty free texts. One statement."""
    questions = free_text_questions(definition)
    query = (select(Response.id, Response.answers, Project.reference, Project.structure_name, Project.commune,
                    Caf.name)
             .join(Project, Response.project_id == Project.id).join(Caf, Project.caf_id == Caf.id)
             .where(Response.campaign_id == campaign_id, Response.submitted_at.is_not(None))
             .order_by(Project.reference))
    if caf_id is not None:
        query = query.where(Project.caf_id == caf_id)
    bilans = []
    for row in db.execute(query):
        answers = row.answers or {}
        if not matches(answers, chosen):
            continue
        texts = [(q.label, answers[q.code]) for q in questions if isinstance(answers.get(q.code), str)
                 and answers[q.code].strip()]
        bilans.append(Bilan(row.id, row.reference, row.structure_name, row.commune, row.name, texts))
    return bilans


def fold(text: str) -> str:
    """Lower case without accents: « Parentalité » -> « parentalite »."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def words_of(query: str) -> list[str]:
    return [w for w in (fold(m) for m in _WORD.findall(query or "")) if w not in STOP_WORDS][:10]


def search(db: Session, bilans: list[Bilan], query: str, definition: Definition) -> list[Bilan]:
    """The bilans whose free texts match ``query``, best first, each with highlighted excerpts.

    On PostgreSQL: the ``french`` text search configuration, each word of the
    query stemmed and matched as a prefix of the texts' stems (« familles »
    finds « famille », « parents » finds « parentalité »), ranked by ``ts_rank``,
    excerpts by ``ts_headline``, in one statement. Elsewhere: every word of the
    query, plural and accents aside, at the start of a word of the texts.
    """
    if not words_of(query) or not bilans:
        return []
    if db.get_bind().dialect.name == "postgresql":
        return _search_postgresql(db, bilans, query, [q.code for q in free_text_questions(definition)])
    return _search_plainly(bilans, query)


def _light_stem(word: str) -> str:
    """« familles » -> « famill »: enough for plurals and feminines without a dictionary."""
    for ending in ("es", "s", "x", "e"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[:-len(ending)]
    return word


def _search_plainly(bilans: list[Bilan], query: str) -> list[Bilan]:
    patterns = [re.compile(r"\b" + re.escape(_light_stem(word))) for word in words_of(query)]
    found = []
    for bilan in bilans:
        folded = [(label, text, fold(text)) for label, text in bilan.texts]
        if not all(any(p.search(f) for _, _, f in folded) for p in patterns):
            continue
        bilan.rank = sum(len(p.findall(f)) for p in patterns for _, _, f in folded)
        bilan.excerpts = [_excerpt(text, f, patterns) for _, text, f in folded if any(p.search(f) for p in patterns)]
        found.append(bilan)
    return sorted(found, key=lambda b: (-b.rank, b.reference))


def _excerpt(text: str, folded: str, patterns) -> Markup:
    """About EXCERPT_CHARS characters around the first match, every match marked (``fold`` keeps lengths
    for French letters, so positions in the folded text are positions in the text)."""
    if len(folded) != len(text):  # a letter whose accent-free form is longer: no marks rather than wrong ones
        return escape(text[:EXCERPT_CHARS])
    spans = sorted((m.start(), m.end()) for p in patterns for m in p.finditer(folded))
    start = max(0, spans[0][0] - EXCERPT_CHARS // 3)
    end = min(len(text), start + EXCERPT_CHARS)
    out, at = [Markup("… ") if start else Markup("")], start
    for begin, stop in spans:
        stop = re.match(r"\w*", folded[stop:]).end() + stop  # the whole word
        if begin < at or begin >= end:
            continue
        out += [escape(text[at:begin]), Markup("<mark>"), escape(text[begin:stop]), Markup("</mark>")]
        at = stop
    out += [escape(text[at:end]), Markup(" …") if end < len(text) else Markup("")]
    return Markup("").join(out)


_POSTGRESQL_SEARCH = text("""
    WITH q AS (SELECT to_tsquery('french', array_to_string(ARRAY(
                   SELECT quote_literal(lexeme) || ':*' FROM unnest(to_tsvector('french', :words))), ' & ')) AS query),
         doc AS (SELECT r.id, array_to_string(ARRAY(
                     SELECT r.answers ->> c FROM unnest(CAST(:codes AS text[])) AS c), E'\\n\\n') AS body
                 FROM responses r WHERE r.id = ANY(:ids)),
         vec AS (SELECT doc.id, doc.body, to_tsvector('french', doc.body) AS vector FROM doc)
    SELECT vec.id, ts_rank(vec.vector, q.query) AS rank,
           ts_headline('french', vec.body, q.query, 'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                       || ', MaxFragments=3, MaxWords=35, MinWords=15, FragmentDelimiter=' || chr(1)) AS headline
    FROM vec, q WHERE vec.vector @@ q.query
    ORDER BY rank DESC, vec.id
""")


def _search_postgresql(db: Session, bilans: list[Bilan], query: str, codes: list[str]) -> list[Bilan]:
    by_id = {b.response_id: b for b in bilans}
    found = []
    rows = db.execute(_POSTGRESQL_SEARCH, {"words": " ".join(_WORD.findall(query))[:500], "codes": codes, "ids": list(by_id)})
    for row in rows:
        bilan = by_id[row.id]
        bilan.rank = row.rank
        bilan.excerpts = [_marked(part) for part in row.headline.split("\x01") if part.strip()]
        found.append(bilan)
    return found


def _marked(headline: str) -> Markup:
    """ts_headline's output, escaped, its markers turned into <mark>."""
    marks = {_START: Markup("<mark>"), _STOP: Markup("</mark>")}
    parts = [marks.get(part) or escape(part) for part in re.split(f"([{_START}{_STOP}])", headline.strip())]
    return Markup("… ") + Markup("").join(parts) + Markup(" …")


def frequent_terms(bilans: list[Bilan], limit: int = 50) -> list[tuple[str, int, int]]:
    """The most frequent words of the selection's free texts, stop words and words under 3 letters left out:
    (word as most often written, occurrences, number of bilans using it).

    Spellings that differ only by case, accents or an elision (« l’enfant ») count as one word.
    """
    counts, bilans_of, spellings, key_of = Counter(), Counter(), {}, {}
    for bilan in bilans:
        words = Counter(_WORD.findall("\n".join(body for _, body in bilan.texts).lower()))
        keys = set()
        for word, number in words.items():
            if word not in key_of:
                bare = _ELISION.sub("", word)
                key = fold(bare)
                key_of[word] = (key, bare) if len(key) >= 3 and key not in STOP_WORDS else None
            if key_of[word] is None:
                continue
            key, bare = key_of[word]
            counts[key] += number
            spellings.setdefault(key, Counter())[bare] += number
            keys.add(key)
        bilans_of.update(keys)
    return [(spellings[key].most_common(1)[0][0], n, bilans_of[key]) for key, n in counts.most_common(limit)]
