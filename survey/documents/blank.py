"""The blank questionnaire of a campaign, to prepare the answers offline (printable page and PDF)."""
from functools import lru_cache

from ..engine.definition import Definition
from ..engine.questions import Question
from ..uploads import ACCEPTED_TEXT

# The drawing functions import .pdf (reportlab, about 10 MiB) themselves: a process loads it with its first PDF.

PREPARE = ("Ce questionnaire vierge présente toutes les questions du bilan, comme lors du webinaire de présentation : "
           "votre équipe peut préparer ses réponses hors ligne avant de les saisir en ligne.")
ONLINE_ONLY = ("Le bilan se remplit et se transmet à la Caf uniquement en ligne, avec le lien personnel reçu par "
               "courriel : ce document ne peut pas être envoyé à la place.")
SINGLE, MULTIPLE = "❍", "❏"  # empty circle and box, drawn from the PDF's ZapfDingbats font


def french_number(number: int) -> str:
    """``30 000``, with a no-break space between thousands."""
    return f"{number:,}".replace(",", "\u00a0")


def length_limits(question: Question) -> str:
    """``30 000 caractères au plus.`` or ``Entre 100 et 30 000 caractères.``"""
    low, high = question.options.get("min_length"), question.options.get("max_length")
    if low:
        return f"Entre {french_number(low)} et {french_number(high)} caractères."
    return f"{french_number(high)} caractères au plus."


def condition_text(definition: Definition, question: Question) -> str | None:
    """When a conditional question is asked: ``Question posée si vous avez répondu « Autre » à « Statut »``."""
    wording = question.own_condition.describe()
    return f"Question posée seulement si {wording}." if wording else None


def upload_limits(max_bytes: int) -> str:
    size = max_bytes / (1024 * 1024)
    shown = f"{size:.0f}" if size >= 1 and size == int(size) else f"{size:.1f}".replace(".", ",")
    return f"Un document à joindre en ligne ({ACCEPTED_TEXT}, {shown} Mo au plus)."


# Public and the same for everyone: built once per process and definition
# (``campaign_definition`` keeps one compiled definition per campaign).
@lru_cache(maxsize=16)
def blank_pdf(definition: Definition, title: str, max_upload_bytes: int) -> bytes:
    """Every page's questions with empty boxes to fill in by hand."""
    from .pdf import para, render

    story = [para(title, "title"), para(PREPARE, "answer"), para(ONLINE_ONLY, "answer")]
    for page in definition.pages:
        story.append(para(f"{page.number}. {page.title}", "page"))
        if page.intro:
            story.append(para(page.intro, "answer"))
        if page.show_if:
            story.append(para(f"Étape à remplir seulement si {page.condition.describe()}.", "hint"))
        for question in page.questions:
            story.append(para(question.label + (" (obligatoire)" if question.required else ""), "question"))
            for note in (condition_text(definition, question), question.help):
                if note:
                    story.append(para(note, "hint"))
            story += BLANKS.get(question.macro, _text)(question, max_upload_bytes)
    return render(story, title, f"{title} – questionnaire vierge")


def _text(question, _max_bytes):
    from .pdf import box, gap, para

    hint = question.format_hint()
    return [*([para(hint, "hint")] if hint else []), box(0.9), gap(4)]


def _long_text(question, _max_bytes):
    from .pdf import box, gap, para

    return [para(length_limits(question), "hint"), box(7), gap(4)]


def _choices(question, _max_bytes):
    from .pdf import box, gap, para

    mark = MULTIPLE if question.is_multiple else SINGLE
    blocks = [para(question.count_hint() if question.is_multiple else "Une seule réponse.", "hint")]
    for choice in question.choices:
        blocks.append(para(f"{mark} {choice['label']}", "answer"))
        if choice.get("followup"):
            blocks += [para(f"{choice['followup']['label']} (si vous avez choisi « {choice['label']} »)", "hint"),
                       box(0.9)]
    return blocks + [gap(4)]


def _matrix(question, _max_bytes):
    from .pdf import gap, grid, para

    columns = [c["label"] for c in question.columns]
    rows = [(row["label"], [SINGLE] * len(columns)) for row in question.rows]
    return [para("Une réponse par ligne.", "hint"), grid(columns, rows), gap(6)]


def _file(question, max_bytes):
    from .pdf import para

    return [para(upload_limits(max_bytes), "answer")]


# How each kind is drawn empty, by the template macro that renders it on the web page
# (any other macro: a line to write on).
BLANKS = {"text": _text, "long_text": _long_text, "choices": _choices, "matrix": _matrix, "file": _file}
