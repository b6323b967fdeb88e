"""The partner's pages: personal link, questionnaire pages, summary, transmission."""
import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for

from .. import clock
from ..access import NoPartnerAccess, bind_browser, current_link
from ..db import get_session, statement_by_statement
from ..documents import bilan_filename, bilan_pdf
from ..engine.answers import find_problems, is_visible, next_page, resume_page, steps, stored_errors
from ..engine.forms.builder import initial_data, page_form_class
from ..engine.timefmt import count_of
from ..errors import IllegalTransition, IncompleteResponse, QuestionnaireClosed, StaleVersion
from ..history import display_value, partner_annotations
from ..operations import (
    Actor,
    carry_over,
    carry_over_plan,
    ensure_partner_can_edit,
    open_link,
    response_definition,
    save_page,
    submit_response,
)
from . import on_refusal

bp = Blueprint("partner", __name__)


@bp.errorhandler(NoPartnerAccess)
def no_access(_error):
    return render_template("partner/invalid_link.html"), 404


@on_refusal(bp)
def refused(error):
    """A refused write (carrying answers over...): the start page says why."""
    flash(error.message, "error")
    return redirect(url_for("partner.show_start"))


def _context():
    link = current_link()
    response = link.response
    return link, response, response_definition(response)


def posted_version() -> int | None:
    """The response version the posted form was opened on."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


def _editable(response):
    return _closed_message(response) is None


def _closed_message(response):
    try:
        ensure_partner_can_edit(response, clock.now())
    except (QuestionnaireClosed, IllegalTransition) as exc:
        return exc.message
    return None


@bp.get("/r/<path:token>")
@statement_by_statement
def open_personal_link(token):
    link_id = open_link(get_session(), token, clock.now())
    if link_id is None:
        return render_template("partner/invalid_link.html"), 404
    bind_browser(link_id)
    return redirect(url_for("partner.show_start"))


@bp.get("/bilan")
@statement_by_statement
def show_start():
    link, response, definition = _context()
    closed = _closed_message(response)
    previous, plan = carry_over_plan(get_session(), response) if not closed else (None, {})
    step_list = _steps(response, definition)
    return render_template(
        "partner/start.html", response=response, definition=definition, contact=link.contact,
        closed_message=closed, previous=previous, carry_count=len(plan), steps=step_list,
        resume=resume_page(step_list),
    )


def _steps(response, definition, changes=None):
    """Each step's status in words; the Caf's changes are read only when the response has some."""
    if changes is None:
        changes, _carried = partner_annotations(get_session(), response)
    correction = response.open_correction
    asked = [item["code"] for item in correction.items] if correction is not None else []
    return steps(definition, response.answers, response.invalid, asked, changes.keys())


@bp.post("/bilan/reprise")
def carry_over_answers():
    link, response, definition = _context()
    codes = carry_over(get_session(), response, posted_version(), clock.now(), Actor(contact=link.contact))
    labels = list(dict.fromkeys(_question_label(definition, code) for code in codes))
    flash(f"{count_of(len(codes), 'réponse')} de l’année précédente "
          f"{'a été reprise' if len(codes) < 2 else 'ont été reprises'}, pour les questions : "
          + " ; ".join(f"« {label} »" for label in labels)
          + ". Vérifiez-les : chacune est signalée « Réponse reprise du bilan de l’année précédente ».")
    return redirect(url_for("partner.show_summary"))


def _question_label(definition, code):
    owner = definition.owner_of.get(code, code)
    question = definition.questions.get(owner)
    return question.label if question is not None else code


def _render_page(response, definition, page, form, errors, status=200, notice=None, readonly=False, unsaved=None):
    changes, carried = partner_annotations(get_session(), response)
    return render_template(
        "partner/page.html", response=response, definition=definition, page=page, form=form,
        errors=errors, notice=notice, readonly=readonly, unsaved=unsaved or [],
        steps=_steps(response, definition, changes),
        visible={q.code: is_visible(q, response.answers) for q in page.questions},
        changes=changes, correction=response.open_correction, display_value=display_value, carried=carried,
    ), status


def posted_texts(page, formdata) -> list[tuple[str, str]]:
    """What a refused post typed in free-text fields, to show back for copying."""
    shown = []
    for question in page.questions:
        for code in question.owned_codes():
            value = formdata.get(code, "")
            if isinstance(value, str) and value.strip():
                shown.append((question.label, value))
    return shown


@bp.route("/bilan/page/<int:number>", methods=["GET", "POST"])
@statement_by_statement
def edit_page(number):
    link, response, definition = _context()
    page = definition.page(number) or abort(404)
    form_class = page_form_class(definition, page)
    closed = _closed_message(response)
    if request.method == "POST":
        form = form_class()
        if closed:
            return _render_page(response, definition, page, None, {}, 409, notice=closed, readonly=True,
                                unsaved=posted_texts(page, request.form))
        try:
            result = save_page(get_session(), response, page, form.outcomes(page), form.expected_version(),
                               clock.now(), current_app.extensions["uploads"], Actor(contact=link.contact))
        except StaleVersion as exc:
            get_session().refresh(response)
            form.version.data = str(response.version)
            return _render_page(response, definition, page, form, {}, 409, notice=exc.message)
        except (QuestionnaireClosed, IllegalTransition) as exc:
            return _render_page(response, definition, page, None, {}, 409, notice=exc.message, readonly=True,
                                unsaved=posted_texts(page, request.form))
        if result.errors:
            form = form_class(formdata=None, data=initial_data(page, response.answers, response.invalid))
            form.version.data = str(response.version)
            errors = stored_errors(definition, page, response.answers, response.invalid) | result.errors
            notice = ("Vos réponses sont enregistrées, mais certaines sont à corriger. "
                      "Vous pouvez les corriger maintenant ou plus tard, avant de transmettre le bilan.")
            return _render_page(response, definition, page, form, errors, notice=notice)
        return redirect(_destination(definition, number, response.answers))
    if closed:
        return _render_page(response, definition, page, None, {}, notice=closed, readonly=True)
    offered = {"contact_email": link.contact.email}  # "Votre adresse électronique", until answered
    form = form_class(formdata=None, data=initial_data(page, response.answers, response.invalid, offered))
    form.version.data = str(response.version)
    errors = stored_errors(definition, page, response.answers, response.invalid)
    return _render_page(response, definition, page, form, errors)


def _destination(definition, number, answers):
    action = request.form.get("action", "")
    # Pages that do not apply after this save (their show_if) are skipped.
    previous, following = next_page(definition, answers, number, -1), next_page(definition, answers, number, 1)
    if action == "previous" and previous:
        return url_for("partner.edit_page", number=previous)
    if action == "next" and following:
        return url_for("partner.edit_page", number=following)
    if action in ("next", "summary"):
        return url_for("partner.show_summary")
    if action.startswith("goto-"):
        target = action.removeprefix("goto-")
        if target.isdigit() and definition.page(int(target)):
            return url_for("partner.edit_page", number=int(target))
    return url_for("partner.edit_page", number=number, saved=1)


@bp.get("/bilan/recapitulatif")
@statement_by_statement
def show_summary():
    _link, response, definition = _context()
    return _render_summary(response, definition)


CERTIFY_MESSAGE = "Cochez la case « Je certifie l’exactitude des informations transmises » pour transmettre le bilan."


def _render_summary(response, definition, status=200, notice=None, certify_error=None):
    changes, carried = partner_annotations(get_session(), response)
    problems = [] if response.receipt and not _editable(response) else find_problems(definition, response.answers, response.invalid)
    return render_template(
        "partner/summary.html", response=response, definition=definition, problems=problems,
        closed_message=_closed_message(response), notice=notice, correction=response.open_correction,
        certify_error=certify_error, errors=[certify_error] if certify_error else [],
        changes=changes, display_value=display_value, carried=carried,
        visible={q.code: is_visible(q, response.answers) for q in definition.questions.values()},
    ), status


@bp.post("/bilan/transmettre")
def transmit():
    link, response, definition = _context()
    if request.form.get("certifie") != "oui" and not (response.is_submitted or response.is_validated):
        return _render_summary(response, definition, 400, CERTIFY_MESSAGE, certify_error=CERTIFY_MESSAGE)
    try:
        submit_response(get_session(), response, posted_version(), clock.now(), Actor(contact=link.contact))
    except IllegalTransition as exc:
        if response.is_submitted or response.is_validated:
            return redirect(url_for("partner.show_receipt"))
        return _render_summary(response, definition, 409, exc.message)
    except (QuestionnaireClosed, IncompleteResponse, StaleVersion) as exc:
        get_session().refresh(response)
        return _render_summary(response, definition, 409, exc.message)
    # The receipt rows were committed with the transmission; the email leaves
    # from the process's sending thread, so the SMTP exchange delays nobody.
    current_app.extensions["outbox"].post(response.id)
    return redirect(url_for("partner.show_receipt"))


@bp.get("/bilan/accuse-de-reception")
@statement_by_statement
def show_receipt():
    _link, response, definition = _context()
    if response.receipt is None or response.state.value not in ("submitted", "validated"):
        return redirect(url_for("partner.show_summary"))
    return render_template("partner/receipt.html", response=response, definition=definition)


@bp.get("/bilan/document/<code>")
@statement_by_statement
def download_document(code):
    _link, response, definition = _context()
    question = definition.questions.get(code)
    stored = response.answers.get(code) if question is not None and question.is_upload else None
    path = current_app.extensions["uploads"].path(stored["key"]) if stored else None
    if path is None:
        abort(404)
    return send_file(path, mimetype=stored["mime"], as_attachment=True, download_name=stored["name"], max_age=0)


@bp.get("/bilan/bilan.pdf")
@statement_by_statement
def download_bilan_pdf():
    _link, response, _definition = _context()
    return pdf_download(bilan_pdf(response, clock.now()), bilan_filename(response))


def pdf_download(data: bytes, filename: str):
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=filename,
                     max_age=0)


def csrf_failed_page():
    """A form posted without a valid CSRF token (usually a lost session cookie)."""
    unsaved = []
    if request.endpoint == "partner.edit_page":
        try:
            _link, response, definition = _context()
            page = definition.page(request.view_args.get("number", 0))
            unsaved = posted_texts(page, request.form) if page else []
        except NoPartnerAccess:
            unsaved = [(k, v) for k, v in request.form.items() if k not in ("csrf_token", "version", "action") and v.strip()]
    return render_template("errors/csrf.html", unsaved=unsaved), 400
