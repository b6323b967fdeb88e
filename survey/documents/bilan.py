"""The PDF of one bilan: the project, its Caf and state, then every visible answer with its question."""
import re
from datetime import datetime

from ..engine.answers import is_visible
from ..engine.timefmt import format_datetime
from ..models import Response
from ..questionnaires import campaign_definition

# The drawing functions import .pdf (reportlab, about 10 MiB) themselves: a process loads it with its first PDF.

NO_ANSWER = "Sans réponse"


def bilan_filename(response: Response) -> str:
    """``bilan-<project reference>.pdf``, with only characters every system accepts in a file name."""
    reference = re.sub(r"[^A-Za-z0-9._-]+", "-", response.project.reference).strip("-.") or str(response.id)
    return f"bilan-{reference}.pdf"


def bilan_facts(response: Response, now: datetime) -> list[tuple[str, str]]:
    """What identifies the document: project, Caf, state, transmission."""
    project, tz = response.project, response.project.caf.timezone
    facts = [("Projet", project.reference), ("Structure", project.structure_name)]
    if project.commune:
        facts.append(("Commune", project.commune))
    facts += [("Caf", project.caf.name), ("État du bilan", response.state.label.capitalize())]
    if response.submitted_at is not None:
        facts.append(("Transmis le", format_datetime(response.submitted_at, tz)))
    if response.receipt:
        facts.append(("Référence de l'accusé de réception", response.receipt))
    if response.validated_at is not None:
        facts.append(("Validé par la Caf le", format_datetime(response.validated_at, tz)))
    facts.append(("Document établi le", format_datetime(now, tz)))
    return facts


def bilan_pdf(response: Response, now: datetime) -> bytes:
    """The bilan as a PDF: every visible question, page by page, with its answer as stored now."""
    from .pdf import fact, para, render, text_blocks

    definition = campaign_definition(response.campaign)
    answers, invalid = response.answers, response.invalid
    story = [para(response.campaign.title, "title")]
    story += [fact(label, value) for label, value in bilan_facts(response, now)]
    for page in definition.pages:
        story.append(para(f"{page.number}. {page.title}", "page"))
        for question in page.questions:
            if not is_visible(question, answers):
                continue
            story.append(para(question.label, "question"))
            if question.code in invalid:
                story += text_blocks(f"À corriger : « {invalid[question.code]['value']} »")
                continue
            story += ANSWER_BLOCKS.get(question.macro, _lines)(question, answers)
    footer = f"{response.campaign.title} – projet {response.project.reference}"
    return render(story, f"{response.campaign.title} – {response.project.reference}", footer)


def _lines(question, answers) -> list:
    """Each displayed line as paragraphs (a long text keeps its own), then the follow-ups."""
    from .pdf import para, text_blocks

    blocks = [block for line in question.display(answers.get(question.code)) for block in text_blocks(line)]
    blocks += [para(f"{label} : {value}", "answer") for label, value in question.display_followups(answers)]
    return blocks or [para(NO_ANSWER, "none")]


def _grid(question, answers) -> list:
    """Rows x columns, the chosen column's label written in its cell."""
    from .pdf import gap, grid, para

    stored = answers.get(question.code) or {}
    if not stored:
        return [para(NO_ANSWER, "none")]
    columns = [c["label"] for c in question.columns]
    rows = [(row["label"], [c["label"] if stored.get(row["code"]) == c["code"] else "" for c in question.columns])
            for row in question.rows]
    return [grid(columns, rows), gap(6)]


# How a question kind's answer is drawn, by the template macro that renders the kind.
ANSWER_BLOCKS = {"matrix": _grid}
