"""The PDF layer (reportlab's platypus): styles, texts as plain lines, grids as tables of plain strings.

The standard PDF fonts (Helvetica) need no embedding and keep documents
small and fast to build; their WinAnsi encoding covers French (é, œ, « », ’,
€...). A character outside it is first written without its accent
(ą -> a, a narrow no-break space -> a no-break space); reportlab draws arrows and a few
symbols from its Symbol font and a square for anything else. The stored
answers are never touched: this is only how they are drawn.
"""
import functools
import io
import re
import unicodedata

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer, Table, TableStyle

FONT, BOLD, OBLIQUE = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
GREY = colors.HexColor("#4a4a4a")
RULE = colors.HexColor("#9a9a9a")
WIDTH = A4[0] - 4 * cm  # the frame between the 2 cm margins
PADDING = 3  # points between a table cell's text and its rules
# Page streams stay binary, compressed: ASCII85 on top would make them a quarter larger for nothing, and its
# pure-Python encoder cost 2 ms of each bilan's PDF. reportlab's settings are the process's: this is its only user.
rl_config.useA85 = 0

STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=10),
    "page": ParagraphStyle("page", fontName=BOLD, fontSize=13, leading=16, spaceBefore=14, spaceAfter=6,
                           keepWithNext=1),
    "question": ParagraphStyle("question", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3,
                               keepWithNext=1),
    "fact": ParagraphStyle("fact", fontName=FONT, fontSize=10, leading=13, spaceAfter=2),
    "answer": ParagraphStyle("answer", fontName=FONT, fontSize=10, leading=13.5, spaceAfter=5),
    "hint": ParagraphStyle("hint", fontName=OBLIQUE, fontSize=9, leading=12, textColor=GREY, spaceAfter=4,
                           keepWithNext=1),
    "none": ParagraphStyle("none", fontName=OBLIQUE, fontSize=10, leading=13, textColor=GREY, spaceAfter=4),
}

@functools.lru_cache(maxsize=4096)  # the most recent words: well under a megabyte
def text_width(text: str, font: str, size: float) -> float:
    """``text``'s width in points. A bilan measures the same words again and again (its questions' labels,
    every grid's cells, then the next receipt's): kept, they cost a PDF 1.3 to 1.6 ms less (bench/RESULTS.md)."""
    return pdfmetrics.stringWidth(text, font, size)


_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
# Where a line may break: not at a no-break space (« 12 h 30 », « bilan : »), which stays inside its word.
_SPACES = re.compile(r"[ \t\f\v]+")
_WINANSI = "cp1252"


def drawable(text: str) -> str:
    """``text`` with each character the standard fonts lack replaced by its unaccented letter, if any."""
    try:
        text.encode(_WINANSI)
        return text
    except UnicodeEncodeError:
        return "".join(_drawable_char(c) for c in text)


def _drawable_char(char: str) -> str:
    try:
        char.encode(_WINANSI)
        return char
    except UnicodeEncodeError:
        pass
    if unicodedata.decomposition(char) == "<noBreak> 0020":  # a narrow no-break space, in « 30 000 » or « : »
        return "\u00a0"
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        plain.encode(_WINANSI)
        return plain or char
    except UnicodeEncodeError:
        return char


class Lines(Flowable):
    """Plain text in one style, broken into lines at its spaces and at its own line breaks.

    What a Paragraph draws for a text without markup, for a fraction of its cost
    (no markup to parse: an answer's ``<b>`` is drawn as typed), and split over
    pages between any two lines. ``lead``, drawn in bold at the start of the
    first line, makes a ``Label : value`` fact.
    """

    def __init__(self, text: str, style: ParagraphStyle, lead: str = "", lines: list[str] | None = None):
        super().__init__()
        self.text, self.style, self.lead, self.lines = text, style, lead, lines  # given lines: a piece, as split
        self.broken_at = None

    def wrap(self, availWidth, availHeight):
        if self.lines is None or (self.broken_at is not None and availWidth != self.broken_at):
            indent = text_width(self.lead, BOLD, self.style.fontSize) if self.lead else 0
            self.lines = wrapped(drawable(self.text), self.style.fontName, self.style.fontSize, availWidth, indent)
            self.broken_at = availWidth
        self.width, self.height = availWidth, len(self.lines) * self.style.leading
        return self.width, self.height

    def split(self, availWidth, availHeight):
        self.wrap(availWidth, availHeight)
        fits = int((availHeight + 1e-6) // self.style.leading)
        if fits < 2 or fits >= len(self.lines):  # never one line alone at the foot of a page
            return []
        first = Lines("", self.style, self.lead, self.lines[:fits])
        rest = Lines("", self.style, "", self.lines[fits:])
        first.spaceAfter, rest.spaceBefore = 0, 0
        return [first, rest]

    def draw(self):
        style = self.style
        text = self.canv.beginText(0, self.height - style.fontSize)
        text.setFillColor(style.textColor)
        if self.lead and self.lines:
            text.setFont(BOLD, style.fontSize, style.leading)
            text.textOut(self.lead)
        text.setFont(style.fontName, style.fontSize, style.leading)
        for line in self.lines:
            text.textLine(line)
        self.canv.drawText(text)


def wrapped(text: str, font: str, size: float, width: float, indent: float = 0) -> list[str]:
    """``text`` in lines at most ``width`` points wide (the first ``indent`` narrower), broken at spaces and at
    its own line breaks; a word wider than a whole line (an address, a long number) is cut at the margin."""
    space, lines = text_width(" ", font, size), []
    for source in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        words, used = [], 0.0
        for word in filter(None, _SPACES.split(source)):
            span = text_width(word, font, size)
            room = width - (indent if not lines else 0)
            if words and used + space + span > room:
                lines.append(" ".join(words))
                words, used, room = [], 0.0, width
            if span > room:
                *full, word = _cut(word, font, size, room, width)
                lines += full
                span = text_width(word, font, size)
            used = used + space + span if words else span
            words.append(word)
        lines.append(" ".join(words))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _cut(word: str, font: str, size: float, room: float, width: float) -> list[str]:
    """A word in pieces: the first at most ``room`` wide, the others ``width``, the last what is left."""
    pieces, start, used = [], 0, 0.0
    for index, char in enumerate(word):
        span = text_width(char, font, size)
        if used + span > room and index > start:
            pieces.append(word[start:index])
            start, used, room = index, 0.0, width
        used += span
    return pieces + [word[start:]]


def text_blocks(text: str, style: str = "answer") -> list[Lines]:
    """A free text as its paragraphs (blank lines between them), each with its line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = []
    for block in _BLANK_LINES.split(text):
        lines = [line for line in block.split("\n") if line.strip()]
        if lines:
            blocks.append(Lines("\n".join(lines), STYLES[style]))
    return blocks


def para(text: str, style: str) -> Lines:
    return Lines(text, STYLES[style])


def fact(label: str, value: str) -> Lines:
    """``Label : value``, the label in bold."""
    return Lines(f": {value}", STYLES["fact"], lead=f"{drawable(label)} ")


def grid(columns: list[str], rows: list[tuple[str, list[str]]], first_width: float = 0.34) -> "Grid":
    """A table rows x columns: a header row of column labels, then each row's label and cells.

    Cells are plain text drawn centred in bold (a chosen column, an empty box);
    the header row repeats on every page the table spans.
    """
    label_width = WIDTH * first_width
    cell_width = (WIDTH - label_width) / max(1, len(columns))
    widths = [label_width] + [cell_width] * len(columns)

    def cells(texts: list[str], fonts: list[tuple[str, float]]) -> list[list[str]]:
        return [wrapped(drawable(text), font, size, width - 2 * PADDING) for text, (font, size), width in zip(texts, fonts, widths, strict=True)]

    header = cells(["", *columns], [(BOLD, 8)] * len(widths))
    body = [cells([label, *values], [(FONT, 8.5)] + [(BOLD, 8.5)] * len(columns)) for label, values in rows]
    return Grid(header, body, widths)


class Grid(Flowable):
    """Plain pre-broken cells between rules, the first column's on the left, the others' centred, the header
    row (grey) repeated at the top of every page: what a reportlab Table drew here, a quarter of its cost."""

    HEADER = (BOLD, 8, 10)  # font, size, leading
    LABEL = (FONT, 8.5, 10.5)
    CELL = (BOLD, 8.5, 10.5)

    def __init__(self, header: list[list[str]], rows: list[list[list[str]]], widths: list[float]):
        super().__init__()
        self.header, self.rows, self.widths = header, rows, widths
        self.header_height = self._height(header, self.HEADER[2])
        self.row_heights = [self._height(row, self.CELL[2]) for row in rows]
        self.width, self.height = sum(widths), self.header_height + sum(self.row_heights)

    @staticmethod
    def _height(row: list[list[str]], leading: float) -> float:
        return max(1, *(len(lines) for lines in row)) * leading + 2 * PADDING

    def wrap(self, availWidth, availHeight):
        return self.width, self.height

    def split(self, availWidth, availHeight):
        used, fits = self.header_height, 0
        for height in self.row_heights:
            if used + height > availHeight + 1e-6:
                break
            used, fits = used + height, fits + 1
        if fits == 0 or fits == len(self.rows):
            return []
        return [Grid(self.header, self.rows[:fits], self.widths), Grid(self.header, self.rows[fits:], self.widths)]

    def draw(self):
        canvas, top = self.canv, self.height
        canvas.setFillColor(colors.HexColor("#eeeeee"))
        canvas.rect(0, top - self.header_height, self.width, self.header_height, stroke=0, fill=1)
        text = canvas.beginText()
        text.setFillColor(colors.black)
        self._draw_row(text, self.header, top, self.header_height, self.HEADER, self.HEADER)
        rules, bottom = [(0, top, self.width, top)], top - self.header_height
        for row, height in zip(self.rows, self.row_heights, strict=True):
            rules.append((0, bottom, self.width, bottom))
            self._draw_row(text, row, bottom, height, self.LABEL, self.CELL)
            bottom -= height
        rules.append((0, bottom, self.width, bottom))
        left = 0.0
        for width in [0.0, *self.widths]:
            left += width
            rules.append((left, top, left, bottom))
        canvas.drawText(text)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.lines(rules)

    def _draw_row(self, text, row, top, height, first, others):
        """One row's cells, each block of lines centred vertically in the row."""
        left = 0.0
        for column, (lines, width) in enumerate(zip(row, self.widths, strict=True)):
            font, size, leading = first if column == 0 else others
            text.setFont(font, size, leading)
            y = top - height + (height + len(lines) * leading) / 2 - size
            for line in lines:
                x = left + PADDING if column == 0 else left + (width - text_width(line, font, size)) / 2
                text.setTextOrigin(x, y)
                text.textOut(line)
                y -= leading
            left += width


def box(height_cm: float) -> Table:
    """An empty framed area to write in, ``height_cm`` high."""
    table = Table([[""]], colWidths=[WIDTH], rowHeights=[height_cm * cm], hAlign="LEFT")
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, RULE)]))
    return table


def gap(height: float = 4) -> Spacer:
    return Spacer(1, height)


def render(flowables: list, title: str, footer: str) -> bytes:
    """The PDF bytes: A4, 2 cm margins, ``footer`` and the page number at the bottom of each page."""
    buffer = io.BytesIO()

    def decorate(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(2 * cm, 1.2 * cm, drawable(footer))
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"page {doc.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm,
        title=title, author="Bilan qualitatif Clas", lang="fr-FR",
    )
    document.build(flowables, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
