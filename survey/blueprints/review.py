"""Caf reviewers: the projects of their Caf, reading, correcting, asking, validating."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager
from werkzeug.datastructures import MultiDict

from .. import clock
from ..access import caf_scope, reviewable_response_or_404
from ..db import get_session
from ..documents import bilan_filename, bilan_pdf
from ..engine.answers import find_problems, is_visible, stored_errors
from ..engine.forms.builder import initial_data, page_form_class
from ..engine.timefmt import count_of, local, zone_name
from ..errors import DomainError, FormRefused, StaleVersion
from ..history import changed_values, compact_history, display_value, events_of, label_of
from ..models import Caf, CafWindow, Campaign, Project, Response, ResponseState
from ..operations import (
    Actor,
    add_note,
    awaits_partner,
    extend_deadline,
    notes_of,
    plan_correction_notice,
    reopen_response,
    request_correction,
    response_definition,
    save_page,
    send_new_link,
    validate_response,
    validate_responses,
    withdraw_from_project,
)
from . import on_refusal
from .partner import pdf_download, posted_version

bp = Blueprint("review", __name__, url_prefix="/caf")
PAGE_SIZE = 50
SORTS = {
    "reference": Project.reference,
    "structure": Project.structure_name,
    "commune": Project.commune,
    "etat": Response.state,
    "maj": Response.updated_at,
    "transmis": Response.submitted_at,
}


@bp.before_request
@login_required
def require_sign_in():
    """Every page of this blueprint needs a signed-in Caf user."""


@on_refusal(bp)
def refused(error):
    """A refused decision or correction: the response's page says why (409), the correction request typed back."""
    response_id = (request.view_args or {}).get("response_id")
    if response_id is None:
        flash(error.message, "error")
        return redirect(url_for("review.index"))
    typed = request.form if request.endpoint == "review.ask_correction" else None
    return _render_response(reviewable_response_or_404(response_id), 409, error.message, correction_form=typed)


_version = posted_version


def _end_of_day(text, tz_name):
    """A date typed in a form (YYYY-MM-DD) -> 23:59:59 that day in the Caf's time zone."""
    try:
        day = datetime.strptime(text or "", "%Y-%m-%d").date()
    except ValueError:
        raise DomainError("Indiquez une date valide (jj/mm/aaaa).") from None
    return datetime.combine(day, time(23, 59, 59), ZoneInfo(tz_name))


@bp.get("/")
def index():
    db = get_session()
    campaigns = db.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    counts = {}
    query = caf_scope(select(Response.campaign_id, func.count()).join(Project).group_by(Response.campaign_id), current_user)
    for campaign_id, count in db.execute(query):
        counts[campaign_id] = count
    # A reviewer reads their own Caf's closing, in its zone.
    closings, tz = {}, "Europe/Paris"
    if current_user.caf is not None:
        tz = current_user.caf.timezone
        closings = dict(db.execute(select(CafWindow.campaign_id, CafWindow.closes_at)
                                   .where(CafWindow.caf_id == current_user.caf_id)).all())
    return render_template("review/index.html", campaigns=campaigns, counts=counts, closings=closings, tz=tz)


@bp.get("/campagnes/<int:campaign_id>")
def list_responses(campaign_id):
    db = get_session()
    campaign = db.get(Campaign, campaign_id) or abort(404)
    base = caf_scope(select(Response).join(Project).where(Response.campaign_id == campaign.id), current_user)
    number = request.args.get("caf", "").strip() if current_user.is_admin else ""
    if number:  # an administrator looks at one Caf (from the dashboard's table of the Cafs)
        base = base.where(Project.caf_id == (db.scalar(select(Caf.id).where(Caf.number == number)) or abort(404)))
    counts = {state: 0 for state in ResponseState}
    for state, count in db.execute(base.with_only_columns(Response.state, func.count()).group_by(Response.state)):
        counts[state] = count
    query = base
    state = request.args.get("etat", "")
    state = ResponseState(state) if state in {s.value for s in ResponseState} else None
    if state is not None:
        query = query.where(Response.state == state)
    commune = request.args.get("commune", "").strip()
    if commune:
        query = query.where(func.lower(Project.commune) == commune.lower())
    search = request.args.get("q", "").strip()[:100]
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Project.structure_name).like(pattern), Project.siret.like(pattern),
                                func.lower(Project.reference).like(pattern)))
    sort = request.args.get("tri", "reference")
    column = SORTS.get(sort.removeprefix("-"), Project.reference)
    query = query.order_by(column.desc() if sort.startswith("-") else column, Project.reference)
    if commune or search:
        total = db.scalar(query.with_only_columns(func.count()).order_by(None))
    else:  # already counted, by state: no second pass over the campaign
        total = counts[state] if state is not None else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    responses = db.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    communes = db.scalars(caf_scope(select(Project.commune).join(Response).where(Response.campaign_id == campaign.id), current_user)
                          .distinct().order_by(Project.commune)).all()
    return render_template(
        "review/list.html", campaign=campaign, responses=responses, counts=counts, total=total, page=page,
        pages=pages, states=list(ResponseState), communes=[c for c in communes if c], args=request.args,
    )


CORRECTION_DAYS = 15


def _render_response(response, status=200, notice=None, correction_form=None, correction_errors=None,
                     note_form=None, note_errors=None):
    definition, now = response_definition(response), clock.now()
    tz = response.project.caf.timezone
    visible = {q.code: is_visible(q, response.answers) for q in definition.questions.values()}
    events = events_of(get_session(), response)
    correction_errors = correction_errors or {}
    return render_template(
        "review/response.html", response=response, definition=definition, notice=notice,
        problems=find_problems(definition, response.answers, response.invalid),
        events=events, history=compact_history(events, response.answers),
        full_history=request.args.get("historique") == "complet",
        display_value=display_value, changed_values=changed_values, label_of=label_of,
        visible=visible, visible_codes={code for code, shown in visible.items() if shown},
        tz=tz, tz_label=zone_name(tz), now=now, correction_form=correction_form or MultiDict(),
        correction_errors=correction_errors, errors=correction_errors or note_errors,
        notes=notes_of(get_session(), response), note_form=note_form or MultiDict(), note_errors=note_errors or {},
        field_ids={field: "m-" + field.removeprefix("message-") if field.startswith("message-") else
                   {"questions": "c-questions"}.get(field, "c-until") for field in correction_errors},
        default_until=(local(now, tz).date() + timedelta(days=CORRECTION_DAYS)).isoformat(),
        awaits_partner=awaits_partner(response, now), form_refused=status >= 400,
    ), status


@bp.get("/reponses/<int:response_id>")
def show_response(response_id):
    return _render_response(reviewable_response_or_404(response_id))


@bp.route("/reponses/<int:response_id>/pages/<int:number>", methods=["GET", "POST"])
def correct_page(response_id, number):
    response = reviewable_response_or_404(response_id)
    definition = response_definition(response)
    page = definition.page(number) or abort(404)
    form_class = page_form_class(definition, page)
    if response.is_validated:
        return _render_response(response, 409, "Ce bilan est validé : un administrateur doit le rouvrir avant toute correction.")
    errors, notice, status = {}, None, 200
    if request.method == "POST":
        form = form_class()
        try:
            result = save_page(get_session(), response, page, form.outcomes(page), form.expected_version(),
                               clock.now(), current_app.extensions["uploads"], Actor(user=current_user),
                               request.form.get("reason", "").strip()[:1000])
        except StaleVersion as exc:  # the page again, with what was typed
            get_session().refresh(response)
            form.version.data = str(response.version)
            notice, status = exc.message, 409
        else:
            if result.saved:
                flash("Correction enregistrée.")
                return redirect(url_for("review.show_response", response_id=response.id))
            errors, notice, status = result.errors, "Rien n'a été enregistré : corrigez les erreurs signalées.", 422
    else:
        form = form_class(formdata=None, data=initial_data(page, response.answers, response.invalid))
        form.version.data = str(response.version)
        errors = stored_errors(definition, page, response.answers, response.invalid)
    return render_template(
        "review/page.html", response=response, definition=definition, page=page, form=form, errors=errors,
        notice=notice, reason=request.form.get("reason", ""),
    ), status


@bp.get("/reponses/<int:response_id>/documents/<code>")
def download_document(response_id, code):
    response = reviewable_response_or_404(response_id)
    question = response_definition(response).questions.get(code)
    stored = response.answers.get(code) if question is not None and question.is_upload else None
    path = current_app.extensions["uploads"].path(stored["key"]) if stored else None
    if path is None:
        abort(404)
    return send_file(path, mimetype=stored["mime"], as_attachment=True, download_name=stored["name"], max_age=0)


@bp.get("/reponses/<int:response_id>/bilan.pdf")
def download_bilan_pdf(response_id):
    response = reviewable_response_or_404(response_id)
    return pdf_download(bilan_pdf(response, clock.now()), bilan_filename(response))


@bp.post("/reponses/<int:response_id>/correction")
def ask_correction(response_id):
    response = reviewable_response_or_404(response_id)
    definition = response_definition(response)
    tz = response.project.caf.timezone
    codes = [c for c in request.form.getlist("questions") if c in definition.questions]
    items = [{"code": c, "message": request.form.get(f"message-{c}", "")} for c in codes]
    try:
        until = _end_of_day(request.form.get("until"), tz)
    except DomainError:
        until = None
    try:
        correction = request_correction(get_session(), response, current_user, items, until, _version(), clock.now())
    except FormRefused as exc:  # each error beside its field (refused before any write)
        return _render_response(response, 409, correction_form=request.form, correction_errors=exc.errors)
    plan_correction_notice(get_session(), correction, clock.now())  # after the request's commit
    current_app.extensions["outbox"].post(response.id)  # sent by this process's sender, not inside the request
    flash("La demande de correction est enregistrée : le partenaire peut corriger son bilan.")
    return redirect(url_for("review.show_response", response_id=response.id))


def _decide(response, operation, done_message):
    """Run a Caf decision on the response (a refusal: see :func:`refused`)."""
    operation()
    flash(done_message)
    return redirect(url_for("review.show_response", response_id=response.id))


@bp.post("/reponses/<int:response_id>/validation")
def validate(response_id):
    response = reviewable_response_or_404(response_id)
    answer = _decide(response, lambda: validate_response(get_session(), response, current_user, _version(), clock.now()),
                     "Le bilan est validé ; ses contacts en sont avertis par courriel.")
    if response.is_validated:
        current_app.extensions["outbox"].post(response.id)  # the email planned with the validation
    return answer


BULK_MAX = 200


@bp.post("/campagnes/<int:campaign_id>/validation")
def validate_many(campaign_id):
    """Validate the transmitted bilans ticked in the list: first a confirmation page, then the validation."""
    db = get_session()
    campaign = db.get(Campaign, campaign_id) or abort(404)
    wanted = request.form.getlist("page_ids" if request.form.get("tous") else "ids", type=int)[:BULK_MAX]
    versions = {id_: request.form.get(f"version-{id_}", type=int) for id_ in wanted}
    responses = db.scalars(caf_scope(select(Response).join(Project).options(contains_eager(Response.project)).where(
        Response.campaign_id == campaign.id, Response.id.in_(wanted)), current_user).order_by(Project.reference)).all()
    back = request.form.get("retour", "")
    back = back if back.startswith(f"/caf/campagnes/{campaign.id}") else url_for("review.list_responses", campaign_id=campaign.id)
    if not responses:
        flash("Cochez au moins un bilan transmis à valider.", "error")
        return redirect(back)
    if not request.form.get("confirmer"):
        transmitted = [r for r in responses if r.state is ResponseState.SUBMITTED]
        if not transmitted:
            flash("Aucun des bilans cochés n'est transmis : aucun n'est à valider.", "error")
            return redirect(back)
        return render_template("review/bulk_validation.html", campaign=campaign, responses=transmitted,
                               left_out=len(responses) - len(transmitted), versions=versions, back=back)
    try:
        outcome = validate_responses(db, responses, current_user, versions, clock.now())
    except StaleVersion as exc:
        flash(exc.message + " Aucun bilan n'a été validé.", "error")
        return redirect(back)
    for response in outcome.validated:
        current_app.extensions["outbox"].post(response.id)
    if outcome.validated:
        flash(f"{count_of(len(outcome.validated), 'bilan validé', 'bilans validés')} ; "
              "leurs contacts en sont avertis par courriel.")
    for response, reason in outcome.refused:
        flash(f"{response.project.reference} n'est pas validé : {reason}.", "error")
    return redirect(back)


@bp.post("/reponses/<int:response_id>/reouverture")
def reopen(response_id):
    response = reviewable_response_or_404(response_id)
    if not current_user.is_admin:
        abort(404)
    reason = request.form.get("reason", "")
    answer = _decide(response, lambda: reopen_response(get_session(), response, current_user, reason, _version(),
                                                       clock.now()),
                     "Le bilan est rouvert ; ses contacts en sont avertis par courriel.")
    if not response.is_validated:
        current_app.extensions["outbox"].post(response.id)  # the email planned with the reopening
    return answer


@bp.post("/reponses/<int:response_id>/notes")
def write_note(response_id):
    response = reviewable_response_or_404(response_id)
    try:
        add_note(get_session(), response, current_user, request.form.get("note", ""), clock.now())
    except FormRefused as exc:  # beside the note's field
        return _render_response(response, 422, note_form=request.form, note_errors=exc.errors)
    flash("Note enregistrée. Seule la Caf la voit.")
    return redirect(url_for("review.show_response", response_id=response.id, _anchor="notes"))


@bp.post("/reponses/<int:response_id>/delai")
def extend(response_id):
    response = reviewable_response_or_404(response_id)

    def grant():
        until = _end_of_day(request.form.get("until"), response.project.caf.timezone)
        extend_deadline(get_session(), response, current_user, until, request.form.get("reason", ""), _version(),
                        clock.now())

    return _decide(response, grant, "Le délai supplémentaire est accordé.")


@bp.post("/reponses/<int:response_id>/lien")
def send_link(response_id):
    response = reviewable_response_or_404(response_id)
    report = send_new_link(get_session(), response, current_user, clock.now())
    if report.unavailable:
        flash(f"Le serveur d'envoi des courriels ne répond pas ({report.unavailable}) : le lien n'est pas encore "
              "parti. Il partira avec les courriels en attente, ou quand vous cliquerez à nouveau sur "
              "« Envoyer le lien » dans une minute.", "error")
    elif report.sent or report.failed:
        done = [f"Un nouveau lien personnel est parti vers {count_of(report.sent, 'contact')} du projet ; "
                "les liens reçus avant restent valables."] if report.sent else []
        done += [f"Le serveur d'envoi a refusé le lien pour {log.contact.email} ({log.error})." for log in report.failed]
        flash(" ".join(done), "error" if report.failed else "message")
    else:
        flash("Un lien a été demandé pour ce projet il y a moins d'une minute : rien de plus n'est parti.")
    return redirect(url_for("review.show_response", response_id=response.id))


@bp.post("/reponses/<int:response_id>/retrait-contact")
def withdraw_contact_links(response_id):
    """One contact of the project loses its links and its emails (e.g. a person who left the structure)."""
    response = reviewable_response_or_404(response_id)
    contact_id = request.form.get("contact", type=int)
    contact = next((c for c in response.project.current_contacts if c.id == contact_id), None)
    if contact is None:
        return _render_response(response, 400, "Choisissez le contact dont les liens sont à retirer.")
    withdraw_from_project(get_session(), contact, response, clock.now(), Actor(user=current_user),
                          reason=" ".join(request.form.get("reason", "").split())[:1000] or None)
    flash(f"Les liens personnels de {contact.email} sont retirés : ils ne s’ouvrent plus, et ce contact ne recevra "
          "plus de courriel pour ce projet.")
    return redirect(url_for("review.show_response", response_id=response.id))
