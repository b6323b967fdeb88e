"""The PDF layer (reportlab's platypus): styles, free texts as paragraphs, grids as tables.

The standard PDF fonts (Helvetica) need no embedding and keep documents
small and fast to build; their WinAnsi encoding covers French (é, œ, « », ’,
€...). A character outside it is first written without its accent
(ą -> a, a narrow no-break space -> a space); reportlab draws arrows and a few
symbols from its Symbol font and a square for anything else. The stored
answers are never touched: this is only how they are drawn.
"""
import io
import re
import unicodedata
from html import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT, BOLD, OBLIQUE = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
GREY = colors.HexColor("#4a4a4a")
RULE = colors.HexColor("#9a9a9a")
WIDTH = A4[0] - 4 * cm  # the frame between the 2 cm margins

STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=10),
    "page": ParagraphStyle("page", fontName=BOLD, fontSize=13, leading=16, spaceBefore=14, spaceAfter=6,
                           keepWithNext=1),
    "question": ParagraphStyle("question", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3,
                               keepWithNext=1),
    "fact": ParagraphStyle("fact", fontName=FONT, fontSize=10, leading=13, spaceAfter=2),
    "line": ParagraphStyle("line", fontName=FONT, fontSize=10, leading=13.5),
    "answer": ParagraphStyle("answer", fontName=FONT, fontSize=10, leading=13.5, spaceAfter=5),
    "hint": ParagraphStyle("hint", fontName=OBLIQUE, fontSize=9, leading=12, textColor=GREY, spaceAfter=4,
                           keepWithNext=1),
    "none": ParagraphStyle("none", fontName=OBLIQUE, fontSize=10, leading=13, textColor=GREY, spaceAfter=4),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=10.5),
    "head": ParagraphStyle("head", fontName=BOLD, fontSize=8, leading=10, alignment=TA_CENTER),
    "mark": ParagraphStyle("mark", fontName=BOLD, fontSize=8.5, leading=10.5, alignment=TA_CENTER),
}

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
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
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        plain.encode(_WINANSI)
        return plain or char
    except UnicodeEncodeError:
        return char


def markup(text: str) -> str:
    """Plain text as paragraph markup: escaped, line breaks kept."""
    return escape(drawable(text), quote=False).replace("\t", " ").replace("\n", "<br/>")


def text_blocks(text: str, style: str = "answer") -> list[Paragraph]:
    """A free text as its paragraphs (blank lines between them); a single line break starts a new line.

    Each line is a flowable of its own, so that splitting a long text over
    pages stays linear (one paragraph with thousands of ``<br/>`` is
    re-broken at every page: 2.2 s of CPU for 100,000 characters in lines of
    80, against 0.15 s).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = []
    for block in _BLANK_LINES.split(text):
        lines = [line for line in block.split("\n") if line.strip()]
        blocks += [Paragraph(markup(line), STYLES["line"]) for line in lines[:-1]]
        blocks += [Paragraph(markup(line), STYLES[style]) for line in lines[-1:]]
    return blocks


def para(text: str, style: str) -> Paragraph:
    return Paragraph(markup(text), STYLES[style])


def fact(label: str, value: str) -> Paragraph:
    """``Label : value``, the label in bold."""
    return Paragraph(f"<b>{markup(label)}</b> : {markup(value)}", STYLES["fact"])


def grid(columns: list[str], rows: list[tuple[str, list[str]]], first_width: float = 0.34) -> Table:
    """A table rows x columns: a header row of column labels, then each row's label and cells.

    Cells are plain text drawn centred in bold (a chosen column, an empty box);
    the header row repeats on every page the table spans.
    """
    label_width = WIDTH * first_width
    cell_width = (WIDTH - label_width) / max(1, len(columns))
    data = [[""] + [Paragraph(markup(c), STYLES["head"]) for c in columns]]
    # An empty cell stays a plain string: a paragraph each would double the grid's cost.
    data += [[Paragraph(markup(label), STYLES["cell"])] + [Paragraph(markup(cell), STYLES["mark"]) if cell else ""
                                                           for cell in cells]
             for label, cells in rows]
    table = Table(data, colWidths=[label_width] + [cell_width] * len(columns), repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


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
