"""Reading the free texts of a campaign: the selection, its filters, full-text search, frequent terms.

Read-only. A page costs a fixed number of statements whatever the number of
bilans, and is cut in SQL: the filters on closed answers, the count, the page
(LIMIT / OFFSET) and, on PostgreSQL, the ranked search over stored vectors run
in the database; only the page's bilans are read.
"""
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import bindparam, cast, func, literal, literal_column, select
from sqlalchemy import text as text_sql
from sqlalchemy.dialects.postgresql import JSONB
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


@dataclass(frozen=True)
class Selection:
    """What a reader picked: the transmitted bilans of a campaign (of one Caf with ``caf_id``) that hold the
    ``chosen`` closed answers (``code`` or ``code.row`` -> choice code)."""

    campaign_id: int
    definition: Definition
    caf_id: int | None
    chosen: dict[str, str]

    def select(self, *columns, dialect: str):
        """A SELECT of ``columns`` over the selected bilans, with their project."""
        query = (select(*columns).join(Project, Response.project_id == Project.id)
                 .where(Response.campaign_id == self.campaign_id, Response.submitted_at.is_not(None)))
        if self.caf_id is not None:
            query = query.where(Project.caf_id == self.caf_id)
        return query.where(*(_holds(key, wanted, dialect) for key, wanted in self.chosen.items()))


def _holds(key: str, wanted: str, dialect: str):
    """SQL for: the answer at ``key`` (``code`` or ``code.row``) is ``wanted``, or a list that holds it.
    Read from the short answers: a choice is never a long text."""
    path = key.split(".")
    if dialect == "postgresql":  # a JSON array "contains" each of its elements, a string only itself
        document = cast(Response.short_answers, JSONB)
        value = document[path[0]] if len(path) == 1 else document[tuple(path)]
        return value.contains(cast(literal(json.dumps(wanted)), JSONB))
    found = text_sql(  # json_each gives a scalar itself, an array's elements by index, an object's by name
        "EXISTS (SELECT 1 FROM json_each(responses.short_answers, :path) AS e "
        "WHERE e.type = 'text' AND e.value = :wanted AND typeof(e.key) != 'text')")
    return found.bindparams(bindparam("path", "$" + "".join(f'."{part}"' for part in path), unique=True),
                            bindparam("wanted", wanted, unique=True))


def _dialect(db: Session) -> str:
    return db.get_bind().dialect.name


def _bilans_of(rows, definition: Definition) -> list[Bilan]:
    codes = [(q.code, q.label) for q in free_text_questions(definition)]
    bilans = []
    for row in rows:
        answers = row.answers or {}
        texts = [(label, answers[code]) for code, label in codes if isinstance(answers.get(code), str)
                 and answers[code].strip()]
        bilans.append(Bilan(row.id, row.reference, row.structure_name, row.commune, row.name, texts))
    return bilans


_BILAN_COLUMNS = (Response.id, Response.answers, Project.reference, Project.structure_name, Project.commune, Caf.name)


def _page_bounds(total: int, page: int, size: int) -> tuple[int, int]:
    """(page, pages): the page asked for, within 1 and the last page."""
    pages = max(1, -(-total // size))
    return min(max(page, 1), pages), pages


def page_of_bilans(db: Session, selection: Selection, page: int, size: int) -> tuple[int, int, int, list[Bilan]]:
    """(total, page, pages, bilans of that page): the selected bilans by project reference, with their
    non-empty free texts. Two statements: the count, then the page."""
    dialect = _dialect(db)
    total = db.scalar(selection.select(func.count(Response.id), dialect=dialect))
    page, pages = _page_bounds(total, page, size)
    rows = db.execute(selection.select(*_BILAN_COLUMNS, dialect=dialect).join(Caf, Project.caf_id == Caf.id)
                      .order_by(Project.reference, Response.id).offset((page - 1) * size).limit(size))
    return total, page, pages, _bilans_of(rows, selection.definition)


def fold(text: str) -> str:
    """Lower case without accents: « Parentalité » -> « parentalite »."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def words_of(query: str) -> list[str]:
    return [w for w in (fold(m) for m in _WORD.findall(query or "")) if w not in STOP_WORDS][:10]


def search(db: Session, selection: Selection, query: str, page: int, size: int) -> tuple[int, int, int, list[Bilan]]:
    """(total, page, pages, bilans of that page): the selected bilans whose free texts match ``query``,
    best first, each with highlighted excerpts.

    On PostgreSQL: the ``french`` text search configuration, each word of the
    query stemmed and matched as a prefix of the texts' stems (« familles »
    finds « famille », « parents » finds « parentalité »), over the stored
    vectors and their GIN index (migration 0010), ranked by ``ts_rank``; only
    the page's excerpts are made, by ``ts_headline``: two statements whatever
    the number of bilans. Elsewhere: every word of the query, plural and
    accents aside, at the start of a word of the texts, in Python over the
    selection (one statement).
    """
    if not words_of(query):
        return 0, 1, 1, []
    if _dialect(db) == "postgresql":
        return _search_postgresql(db, selection, query, page, size)
    rows = db.execute(selection.select(*_BILAN_COLUMNS, dialect="sqlite").join(Caf, Project.caf_id == Caf.id)
                      .order_by(Project.reference, Response.id))
    found = _search_plainly(_bilans_of(rows, selection.definition), query)
    page, pages = _page_bounds(len(found), page, size)
    return len(found), page, pages, found[(page - 1) * size:page * size]


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


_VECTOR = literal_column("responses.search_vector")  # PostgreSQL's generated column, not mapped (see Response)
_HEADLINE_OPTIONS = ("StartSel=\x02, StopSel=\x03, MaxFragments=3, MaxWords=35, MinWords=15, "
                     "FragmentDelimiter=\x01")


def _tsquery(query: str):
    """Each word of ``query`` stemmed by the ``french`` configuration, as a prefix, all of them required."""
    words = " ".join(_WORD.findall(query))[:500]
    lexeme = func.unnest(func.to_tsvector(literal_column("'french'"), words)).table_valued("lexeme")
    prefixes = select(func.string_agg(func.quote_literal(lexeme.c.lexeme) + ":*", " & ")).scalar_subquery()
    return func.to_tsquery(literal_column("'french'"), prefixes)


def _search_postgresql(db: Session, selection: Selection, query: str, page: int, size: int):
    tsquery = _tsquery(query)
    matching = selection.select(Response.id, dialect="postgresql").where(_VECTOR.op("@@")(tsquery))
    total = db.scalar(select(func.count()).select_from(matching.subquery()))
    page, pages = _page_bounds(total, page, size)
    rank = func.ts_rank(_VECTOR, tsquery)
    ranked = (selection.select(Response.id.label("id"), rank.label("rank"), dialect="postgresql")
              .where(_VECTOR.op("@@")(tsquery)).order_by(rank.desc(), Response.id)
              .offset((page - 1) * size).limit(size).subquery())
    headline = func.ts_headline(literal_column("'french'"), func.coalesce(Response.free_text, ""), tsquery,
                                _HEADLINE_OPTIONS)
    rows = db.execute(select(*_BILAN_COLUMNS, ranked.c.rank, headline.label("headline"))
                      .join(ranked, ranked.c.id == Response.id).join(Project, Response.project_id == Project.id)
                      .join(Caf, Project.caf_id == Caf.id).order_by(ranked.c.rank.desc(), Response.id)).all()
    bilans = _bilans_of(rows, selection.definition)
    for bilan, row in zip(bilans, rows, strict=True):
        bilan.rank = row.rank
        bilan.excerpts = [_marked(part) for part in row.headline.split("\x01") if part.strip()]
    return total, page, pages, bilans


def _marked(headline: str) -> Markup:
    """ts_headline's output, escaped, its markers turned into <mark>."""
    marks = {_START: Markup("<mark>"), _STOP: Markup("</mark>")}
    parts = [marks.get(part) or escape(part) for part in re.split(f"([{_START}{_STOP}])", headline.strip())]
    return Markup("… ") + Markup("").join(parts) + Markup(" …")


def frequent_terms(db: Session, selection: Selection, limit: int = 50) -> tuple[int, list[tuple[str, int, int]]]:
    """(number of bilans, terms): the most frequent words of the selection's free texts, stop words and words
    under 3 letters left out: (word as most often written, occurrences, number of bilans using it).

    Spellings that differ only by case, accents or an elision (« l’enfant ») count as one word. One
    statement, read in batches: only the free texts, never every bilan's answers at once. Each text is cut
    at white space first (in C) and each distinct piece read by the word pattern once for all the bilans: a
    word never spans white space, so the words are those of the pattern over the whole text.
    """
    counts, bilans_of, spellings, terms_in = Counter(), Counter(), {}, {}
    rows = db.execute(selection.select(Response.free_text, dialect=_dialect(db)).execution_options(yield_per=500))
    total = 0
    for (body,) in rows:
        total += 1
        keys = set()
        for piece, number in Counter((body or "").lower().split()).items():
            terms = terms_in.get(piece)
            if terms is None:
                terms = terms_in[piece] = _terms(piece)
            for key, bare in terms:
                counts[key] += number
                spellings.setdefault(key, Counter())[bare] += number
                keys.add(key)
        bilans_of.update(keys)
    # Ties in a stable order, whatever order the database returned the bilans in: more bilans first, then
    # the word; a word's spelling is its most frequent one, the first alphabetically among equals.
    ranked = sorted(counts, key=lambda key: (-counts[key], -bilans_of[key], key))[:limit]
    return total, [(min(spellings[key].items(), key=lambda s: (-s[1], s[0]))[0], counts[key], bilans_of[key])
                   for key in ranked]


def _terms(text: str) -> list[tuple[str, str]]:
    """The words of ``text`` (lower case) that count as terms: (key without accents, word without elision)."""
    terms = []
    for word in _WORD.findall(text):
        bare = _ELISION.sub("", word)
        key = fold(bare)
        if len(key) >= 3 and key not in STOP_WORDS:
            terms.append((key, bare))
    return terms
