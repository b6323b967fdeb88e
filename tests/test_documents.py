"""The bilan as a document: its PDF for the partner and the Caf, and the blank questionnaire."""
import html
import io
import re
import time

import pypdf
import pytest

from survey.documents.pdf import drawable
from survey.models import Response
from survey.questionnaires import response_definition
from tests.conftest import CLAS, CLAS_OPENS, complete_clas_answers
from tests.mail_support import CODE, cli, html_of, text_of

ACCENTS = "Les Œuvres « Petits Savants » d’Été – 5 €"
FIRST = "Premier paragraphe : les enfants ont gagné en confiance, le cœur à l’écrit."
SECOND = "Second paragraphe : les parents sont venus plus souvent « qu’avant »."

# A small questionnaire with every shape a document must draw, and a long text that takes 40,000 characters.
NOTEBOOK = {
    "code": "carnet", "version": 1, "title": "Carnet d’atelier 2025",
    "pages": [
        {"code": "atelier", "title": "L’atelier", "intro": "Quelques mots sur l’atelier.", "questions": [
            {"code": "nom", "kind": "text", "label": "Nom de l’atelier", "required": True},
            {"code": "statut", "kind": "single_choice", "label": "Statut", "choices": [
                {"code": "asso", "label": "Association"},
                {"code": "autre", "label": "Autre", "followup": {"code": "statut_autre", "label": "Précisez"}}]},
            {"code": "public", "kind": "multiple_choice", "label": "Public", "choices": [
                {"code": "enfants", "label": "Enfants"}, {"code": "parents", "label": "Parents"}]},
            {"code": "detail", "kind": "text", "label": "Détail des parents",
             "show_if": {"question": "public", "any_of": ["parents"]}},
        ]},
        {"code": "rythme", "title": "Rythme", "questions": [
            {"code": "frequence", "kind": "matrix", "label": "À quelle fréquence ?",
             "rows": [{"code": "lecture", "label": "Lecture à voix haute"}, {"code": "jeux", "label": "Jeux de société"}],
             "columns": [{"code": "souvent", "label": "Souvent"}, {"code": "parfois", "label": "Parfois"},
                         {"code": "jamais", "label": "Jamais"}]},
            {"code": "recit", "kind": "long_text", "label": "Récit de l’année", "max_length": 40000},
            {"code": "piece", "kind": "file", "label": "Pièce jointe"},
        ]},
    ],
}


def pdf_pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """Words joined by single spaces: where a line wraps is no concern of the tests.

    No-break spaces too: pypdf reads one back followed by a space (« 10\u00a0 h\u00a0 00 »)."""
    return " ".join(text.split())


def body_of(pages: list[str], footer: str) -> str:
    """The pages' text without the footer drawn on each of them."""
    return "\n".join(re.sub(rf"{re.escape(footer)}\s*page \d+", "", page) for page in pages)


@pytest.fixture
def notebook(factory, db):
    """A project of the small questionnaire, answered directly in the database; returns (response id, token)."""
    campaign = factory.campaign(NOTEBOOK, code="carnet-2025")
    response_id, (token,) = factory.project(campaign, reference="AT/2025 01")
    response = db.get(Response, response_id)
    response.record_edit({
        "nom": ACCENTS, "statut": "autre", "statut_autre": "Fondation", "public": ["enfants"],
        "frequence": {"lecture": "souvent", "jeux": "jamais"}, "recit": f"{FIRST}\n\n{SECOND}\nSuite du second.",
        "piece": {"key": "x", "name": "compte-rendu été.pdf", "size": 2048, "mime": "application/pdf"},
    }, {}, CLAS_OPENS, response_definition(response).free_text_codes)
    db.commit()
    return response_id, token


def test_the_partner_downloads_a_pdf_of_every_visible_answer_with_its_question(notebook, partner_for):
    response_id, token = notebook
    partner = partner_for(token)
    assert "Télécharger mon bilan (PDF)" in partner.get("/bilan/recapitulatif").get_data(as_text=True)
    answer = partner.client.get("/bilan/bilan.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert 'filename=bilan-AT-2025-01.pdf' in answer.headers["Content-Disposition"]
    text = flat("\n".join(pdf_pages(answer.data)))
    assert "Carnet d’atelier 2025" in text
    for fact in ("Projet : AT/2025 01", "Caf : Caf de la Savoie", "État du bilan : En cours"):
        assert fact in text
    assert "Transmis le" not in text  # not transmitted yet
    for label, shown in (("Nom de l’atelier", ACCENTS), ("Statut", "Autre"), ("Public", "Enfants"),
                         ("Pièce jointe", "compte-rendu été.pdf")):
        assert f"{label} {shown}" in text
    assert "Précisez : Fondation" in text
    assert "Détail des parents" not in text  # hidden: "Parents" was not ticked
    # The grid is a table: the column labels head it, each row carries its chosen column.
    assert "Souvent Parfois Jamais" in text
    assert "Lecture à voix haute Souvent" in text and "Jeux de société Jamais" in text
    assert text.index("1. L’atelier") < text.index("2. Rythme") < text.index("Récit de l’année")


def test_accents_and_paragraphs_survive_in_the_pdf(notebook, partner_for):
    _response_id, token = notebook
    lines = [line.strip() for page in pdf_pages(partner_for(token).client.get("/bilan/bilan.pdf").data)
             for line in page.splitlines()]
    for accented in ("é", "œ", "Œ", "«", "»", "’", "€"):
        assert any(accented in line for line in lines), accented
    assert ACCENTS in lines
    # Two paragraphs are two lines, in order; a single line break stays a break.
    assert lines.index(FIRST) < lines.index(SECOND) < lines.index("Suite du second.")


@pytest.mark.parametrize("separator, size", [("\n\n", 6), ("\n", 1)], ids=["paragraphs", "short lines"])
def test_a_30000_character_text_flows_over_pages_whole_and_fast(notebook, partner_for, db, separator, size):
    response_id, token = notebook
    paragraph = "Les ateliers du mercredi ont réuni douze enfants, et leurs parents sont venus « voir » ; "
    blocks = [f"{n}. " + paragraph * size for n in range(1, 400)]
    long_text = separator.join(blocks)[:29_980] + " les derniers mots."
    assert len(long_text) >= 30_000 - 1
    response = db.get(Response, response_id)
    response.answers = {**response.answers, "recit": long_text}
    db.commit()
    client = partner_for(token).client
    started = time.perf_counter()
    answer = client.get("/bilan/bilan.pdf")
    elapsed = time.perf_counter() - started
    pages = pdf_pages(answer.data)
    assert len(pages) >= 5
    body = body_of(pages, "Carnet d’atelier 2025 – projet AT/2025 01")
    squeezed = re.sub(r"\s+", "", body)
    expected = re.sub(r"\s+", "", long_text)
    assert expected in squeezed  # every character, in order, across the page breaks
    assert flat(body).rstrip().endswith("les derniers mots. Pièce jointe compte-rendu été.pdf (2 Ko)")
    assert elapsed < 3, f"{elapsed:.2f} s to build and serve the PDF of a 30,000-character bilan"


def test_a_value_still_to_correct_is_shown_as_such(notebook, partner_for, db):
    response_id, token = notebook
    response = db.get(Response, response_id)
    response.invalid = {"nom": {"value": "x" * 3, "errors": ["Trop court"]}}
    db.commit()
    text = flat("\n".join(pdf_pages(partner_for(token).client.get("/bilan/bilan.pdf").data)))
    assert "Nom de l’atelier À corriger : « xxx »" in text


def test_the_caf_reviewer_downloads_the_same_pdf_and_another_caf_gets_404(notebook, caf_user):
    response_id, _token = notebook
    reviewer = caf_user("reviewer", "731")
    assert f"/caf/reponses/{response_id}/bilan.pdf" in reviewer.get(f"/caf/reponses/{response_id}").get_data(as_text=True)
    answer = reviewer.get(f"/caf/reponses/{response_id}/bilan.pdf")
    assert answer.status_code == 200 and "filename=bilan-AT-2025-01.pdf" in answer.headers["Content-Disposition"]
    assert ACCENTS in flat("\n".join(pdf_pages(answer.data)))
    assert caf_user("reviewer", "741").get(f"/caf/reponses/{response_id}/bilan.pdf").status_code == 404


def test_a_transmitted_bilan_pdf_carries_its_date_and_reference(factory, partner_for):
    campaign = factory.campaign()
    _response_id, (token,) = factory.project(campaign, reference="P-731-001")
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    assert "/bilan/bilan.pdf" in partner.get("/bilan/accuse-de-reception").get_data(as_text=True)
    receipt = re.search(r"BQ-[A-Z0-9-]+", partner.html).group(0)
    text = flat("\n".join(pdf_pages(partner.client.get("/bilan/bilan.pdf").data)))
    assert "État du bilan : Transmis" in text
    assert "Transmis le : lundi 1er juillet 2024 à 10 h 00, heure de Paris" in text
    assert f"Référence de l'accusé de réception : {receipt}" in text
    assert "Association Les Petits Savants" in text and "Une année riche : les enfants ont progressé" in text


def test_characters_the_standard_fonts_lack_are_drawn_without_their_accent():
    assert drawable("Łódź\u202fà Gdańsk, 30\u202f000 €") == "Łódz\u00a0à Gdansk, 30\u00a0000 €"
    assert drawable(ACCENTS) == ACCENTS


# -- the blank questionnaire ------------------------------------------------
def test_the_blank_questionnaire_is_public_and_lists_every_question(app, factory):
    factory.campaign(NOTEBOOK, code="carnet-2025")
    client = app.test_client()  # no personal link, no sign-in
    page = html.unescape(client.get("/questionnaire/carnet-2025").get_data(as_text=True))
    assert "préparer ses réponses hors ligne" in page and "webinaire" in page
    for question in ("Nom de l’atelier", "Statut", "Public", "Détail des parents", "À quelle fréquence ?",
                     "Récit de l’année", "Pièce jointe"):
        assert f">{question}" in page, question
    assert "Une seule réponse." in page and "Plusieurs réponses possibles." in page
    assert "Question posée seulement si vous avez répondu « Parents » à la question « Public »." in page
    assert "Précisez (si vous avez choisi « Autre »)" in page
    assert "40\u00a0000 caractères au plus." in page
    assert page.count('class="blank-box blank-round"') == 2 + 2 * 3  # two single choices, a 2 x 3 grid
    assert '<th scope="col">Parfois</th>' in page and '<th scope="row">Jeux de société</th>' in page
    assert "/questionnaire/carnet-2025.pdf" in page


def test_the_blank_questionnaire_pdf_has_the_same_questions_with_empty_boxes(app, factory):
    factory.campaign(NOTEBOOK, code="carnet-2025")
    answer = app.test_client().get("/questionnaire/carnet-2025.pdf")
    assert answer.status_code == 200 and "filename=questionnaire-carnet-2025.pdf" in answer.headers["Content-Disposition"]
    text = flat("\n".join(pdf_pages(answer.data)))
    for shown in ("Nom de l’atelier (obligatoire)", "❍ Association", "❍ Autre", "Précisez (si vous avez choisi « Autre »)",
                  "❏ Enfants", "❏ Parents", "Souvent Parfois Jamais", "Lecture à voix haute ❍ ❍ ❍",
                  "40 000 caractères au plus.", "Quelques mots sur l’atelier.", "webinaire"):
        assert shown in text, shown


def test_an_unknown_campaign_has_no_blank_questionnaire(app, factory):
    factory.campaign(NOTEBOOK, code="carnet-2025")
    client = app.test_client()
    assert client.get("/questionnaire/carnet-2026").status_code == 404
    assert client.get("/questionnaire/carnet-2026.pdf").status_code == 404


def test_the_start_page_links_the_blank_questionnaire(notebook, partner_for):
    _response_id, token = notebook
    assert "/questionnaire/carnet-2025" in partner_for(token).get("/bilan").get_data(as_text=True)


def test_the_clas_blank_questionnaire_builds_quickly(app, factory):
    factory.campaign(code="clas-blank")
    client = app.test_client()
    started = time.perf_counter()
    answer = client.get("/questionnaire/clas-blank.pdf")
    assert time.perf_counter() - started < 2
    text = flat("\n".join(pdf_pages(answer.data)))
    spec = next(q for p in CLAS["pages"] for q in p["questions"] if q["code"] == "bilan_qualitatif")
    limit = f"{spec['max_length']:,}".replace(",", " ")
    assert f"{spec['label']} (obligatoire)" in text and f"{limit} caractères" in text


# -- through the real SMTP server ---------------------------------------------
def test_the_receipt_email_carries_the_bilan_pdf(app, smtp, campaign, factory, partner_for, db):
    response_id, (token,) = factory.project(campaign, contacts=("a@one.example",), reference="P-731-042")
    partner = partner_for(token)
    answers = complete_clas_answers()
    answers[1]["nom_structure"] = ACCENTS
    answers[8]["bilan_qualitatif"] = f"{FIRST}\n\n{SECOND}"
    for number, data in answers.items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    (message,) = smtp.to("a@one.example")
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "bilan-P-731-042.pdf"
    assert message.raw.isascii()  # the PDF travels base64-encoded
    receipt = db.get(Response, response_id).receipt
    assert "Le bilan transmis est joint à ce courriel en PDF (bilan-P-731-042.pdf)." in " ".join(
        message.get_body(("plain",)).get_content().split())
    pages = pdf_pages(attachment.get_content())
    lines = [line.strip() for page in pages for line in page.splitlines()]
    assert lines.index(FIRST) < lines.index(SECOND)
    text = flat("\n".join(pages))
    assert f"Référence de l'accusé de réception : {receipt}" in text
    assert "Transmis le : lundi 1er juillet 2024 à 10 h 00, heure de Paris" in text
    for expected in (ACCENTS, "Maison de quartier", "Fondation",
                     "6 à 10 ans (primaire)", "Quasiment tous"):
        assert expected in text, expected


def test_the_invitation_links_the_blank_questionnaire_and_has_no_attachment(app, smtp, campaign, factory):
    factory.project(campaign, contacts=("a@one.example",))
    assert cli(app, "send-invitations", CODE).exit_code == 0
    (message,) = smtp.messages
    assert message.get_content_type() == "multipart/alternative"
    assert "http://bilan.test/questionnaire/clas-2023-2024" in text_of(message)
    assert 'href="http://bilan.test/questionnaire/clas-2023-2024"' in html_of(message)
    blank = app.test_client().get("/questionnaire/clas-2023-2024")
    assert blank.status_code == 200 and "Bilan qualitatif de l" in blank.get_data(as_text=True)


def test_the_receipts_of_one_transmission_share_one_pdf(app, smtp, campaign, factory, partner_for, monkeypatch):
    from survey.mail import messages as mail
    built = []
    monkeypatch.setattr(mail, "bilan_pdf", lambda response, now: built.append(response.id) or b"%PDF-1.4 shared")
    response_id, (token, _) = factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    assert partner.transmit().status_code == 302
    attachments = [list(message.iter_attachments()) for message in smtp.messages]
    assert [[part.get_content() for part in parts] for parts in attachments] == [[b"%PDF-1.4 shared"]] * 2
    assert built == [response_id]


def test_markup_typed_in_an_answer_is_printed_as_text(notebook, partner_for, db):
    response_id, token = notebook
    response = db.get(Response, response_id)
    response.answers = {**response.answers, "nom": "<b>Atelier</b> & <font size=40>co</font> <br/>"}
    db.commit()
    text = flat("\n".join(pdf_pages(partner_for(token).client.get("/bilan/bilan.pdf").data)))
    assert "<b>Atelier</b> & <font size=40>co</font> <br/>" in text


# -- the PDF layer's plain lines ----------------------------------------------
def test_lines_break_at_spaces_only_and_cut_a_word_wider_than_the_page():
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from survey.documents.pdf import wrapped
    address = "https://www.example.org/" + "un-tres-long-chemin-" * 12
    text = "Rendez-vous à 12\u00a0h\u00a030, le bilan\u00a0: 30\u00a0000 € " * 6 + address + " fin\tdu\ttexte"
    lines = wrapped(text, "Helvetica", 10, 200)
    assert all(stringWidth(line, "Helvetica", 10) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\t", "")  # nothing lost, in order
    words = [word for line in lines for word in line.split(" ")]
    assert words.count("12\u00a0h\u00a030,") == 6 and words.count("bilan\u00a0:") == 6 and words.count("30\u00a0000") == 6
    start = next(n for n, line in enumerate(lines) if line.startswith("https:"))
    assert "".join(lines[start:]).startswith(address) and len(lines) - start >= 3  # the address, cut over lines
    # The first line leaves room for a bold label; a text's own line breaks stay; nothing but spaces draws nothing.
    assert stringWidth(wrapped(text, "Helvetica", 10, 200, indent=120)[0], "Helvetica", 10) <= 80
    assert wrapped("un\ndeux\n\n", "Helvetica", 10, 200) == ["un", "deux"]
    assert wrapped(" \n ", "Helvetica", 10, 200) == []


def test_lines_split_between_two_lines_and_never_leave_one_alone_at_the_foot_of_a_page():
    from survey.documents.pdf import STYLES, Lines
    block = Lines("mot " * 400, STYLES["answer"])
    _width, height = block.wrap(300, 10_000)
    leading = STYLES["answer"].leading
    assert height == len(block.lines) * leading and len(block.lines) > 10
    first, rest = block.split(300, 5 * leading + 1)
    assert len(first.lines) == 5 and first.lines + rest.lines == block.lines
    assert first.getSpaceAfter() == 0 and rest.getSpaceBefore() == 0
    assert block.split(300, 1.5 * leading) == []  # one line would stand alone: the whole block moves on


def test_a_grid_splits_between_rows_and_repeats_its_header_on_the_next_page():
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from survey.documents.pdf import PADDING, WIDTH, Grid, grid, render
    columns = ["Souvent", "Parfois", "Jamais"]
    rows = [(f"Ligne {n} : " + "une activité au long intitulé " * (n % 3), ["", "Parfois" if n % 2 else "", ""]) for n in range(100)]
    table = grid(columns, rows)
    assert table.wrap(WIDTH, 10_000) == (WIDTH, table.height) and table.width == WIDTH
    for row in table.rows:  # every cell's lines fit between its rules
        for (font, size), lines, width in zip([("Helvetica", 8.5)] + [("Helvetica-Bold", 8.5)] * 3, row, table.widths, strict=True):
            assert all(stringWidth(line, font, size) <= width - 2 * PADDING for line in lines)
    first, rest = table.split(WIDTH, table.header_height + sum(table.row_heights[:7]) + 1)
    assert isinstance(first, Grid) and len(first.rows) == 7 and first.rows + rest.rows == table.rows
    assert first.header == rest.header == table.header
    assert table.split(WIDTH, table.header_height + table.row_heights[0] - 1) == []  # not one row fits: it moves on
    # Drawn over pages: each page starts with the header, every row is there once, in order.
    pages = pdf_pages(render([table], "Grille", "Grille"))
    assert len(pages) >= 3 and all("Souvent Parfois Jamais Ligne" in flat(page) for page in pages)
    text = flat(" ".join(pages))
    assert [int(n) for n in re.findall(r"Ligne (\d+) :", text)] == list(range(100))
    assert text.count("Parfois") == 50 + len(pages)
