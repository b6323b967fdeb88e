"""Free texts as HTML: their paragraphs and line breaks kept, everything escaped."""
import re

from markupsafe import Markup

_BLANK_LINE = re.compile(r"\n[ \t]*\n+")


def paragraphs(text) -> Markup:
    """``<p>`` per paragraph (text between blank lines), ``<br>`` for a single line break."""
    text = str(text or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = [block for block in _BLANK_LINE.split(text) if block.strip()]
    return Markup("").join(Markup("<p>{}</p>").format(Markup("<br>\n").join(block.split("\n"))) for block in blocks)
