"""A Caf's invitations and reminders: the form, a preview of the messages as they will leave, the progress of a
round being sent in the background, and the failed messages to send again.

A reviewer always works on their own Caf's projects; an administrator on every Caf, or one.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock
from ..db import get_session
from ..engine.timefmt import count_of
from ..errors import DomainError
from ..mail import caf_rounds
from ..mail.rounds import resend, round_progress
from ..models import Caf, Campaign, EmailLog, Project, Response

bp = Blueprint("emails", __name__, url_prefix="/caf")
# The progress page reloads itself this often while messages wait.
REFRESH_SECONDS = 3


@bp.before_request
@login_required
def require_sign_in():
    """Every page of this blueprint needs a signed-in Caf user."""


def _campaign_or_404(campaign_id):
    return get_session().get(Campaign, campaign_id) or abort(404)


def _caf_number(values):
    """The reviewer's own Caf, always; an administrator's pick (empty for every Caf)."""
    if not current_user.is_admin:
        return current_user.caf.number
    return values.get("caf", "").strip() or None


def _caf_id(values):
    """The Caf whose failures are shown: the reviewer's own; an administrator's pick (404 if unknown), or all."""
    if not current_user.is_admin:
        return current_user.caf_id
    number = values.get("caf", "").strip()
    if not number:
        return None
    return get_session().scalar(select(Caf.id).where(Caf.number == number)) or abort(404)


def _form(campaign, error=None, status=200):
    under_way = caf_rounds.rounds_under_way(get_session(), campaign, _caf_number({}))
    return render_template("emails/form.html", campaign=campaign, form=request.values, error=error,
                           under_way=under_way), status


@bp.get("/campagnes/<int:campaign_id>/courriels")
def show_emails(campaign_id):
    """The form: invitations or a reminder, then a preview before anything leaves."""
    return _form(_campaign_or_404(campaign_id))


@bp.get("/campagnes/<int:campaign_id>/courriels/apercu")
def preview_emails(campaign_id):
    """The first messages of the round as they will leave (subject and text); writes nothing."""
    db = get_session()
    campaign = _campaign_or_404(campaign_id)
    try:
        choice = caf_rounds.Choice.from_form(request.args, _caf_number(request.args))
        round_ = caf_rounds.caf_round(db, campaign, choice, clock.now())
    except DomainError as exc:
        return _form(campaign, exc.message, 400)
    preview = caf_rounds.preview_round(db, round_, clock.now(), caf_rounds.SHOWN)
    return render_template("emails/preview.html", campaign=campaign, choice=choice, round=round_, preview=preview)


@bp.post("/campagnes/<int:campaign_id>/courriels")
def send_emails(campaign_id):
    """Plan the round, commit, wake the outbox and show its progress: nothing is sent inside the request."""
    db = get_session()
    campaign = _campaign_or_404(campaign_id)
    try:
        choice = caf_rounds.Choice.from_form(request.form, _caf_number(request.form))
        round_ = caf_rounds.caf_round(db, campaign, choice, clock.now())
    except DomainError as exc:  # refused before anything is written: the form again, with the reason
        return _form(campaign, exc.message, 400)
    planned = caf_rounds.plan_caf_round(db, round_, clock.now())
    if planned.refused_total and not planned.planned:
        return _form(campaign, _refused_message(planned), 409)
    current_app.extensions["outbox"].wake()
    flash(f"{count_of(planned.planned, 'message')} à envoyer : l’envoi se poursuit sans vous, "
          "vous pouvez quitter cette page.")
    if planned.refused_total:
        flash(_refused_message(planned), "error")
    return redirect(url_for("emails.show_progress", campaign_id=campaign.id, **choice.as_args()), 303)


def _refused_message(planned):
    shown = ", ".join(planned.refused) + (" …" if planned.refused_total > len(planned.refused) else "")
    if planned.refused_total == 1:
        return f"Le projet {shown} a déjà été relancé aujourd’hui : il ne le sera pas une seconde fois avant demain."
    return (f"{count_of(planned.refused_total, 'projet')} ont déjà été relancés aujourd’hui et ne le seront pas une "
            f"seconde fois avant demain : {shown}.")


@bp.get("/campagnes/<int:campaign_id>/courriels/envoi")
def show_progress(campaign_id):
    """How far a round's sending has gone; the page reloads itself while messages wait."""
    db = get_session()
    campaign = _campaign_or_404(campaign_id)
    try:
        choice = caf_rounds.Choice.from_form(request.args, _caf_number(request.args))
        round_ = caf_rounds.round_of(campaign, choice)
    except DomainError as exc:
        return _form(campaign, exc.message, 400)
    progress = round_progress(db, round_)
    waiting = progress.pending + progress.sending
    return render_template("emails/progress.html", campaign=campaign, choice=choice, round=round_, progress=progress,
                           waiting=waiting, refresh=REFRESH_SECONDS if waiting else None)


@bp.get("/campagnes/<int:campaign_id>/courriels/echecs")
def list_failures(campaign_id):
    """The campaign's messages the server refused or that could not leave, with the reason and « Renvoyer »."""
    campaign = _campaign_or_404(campaign_id)
    caf_id = _caf_id(request.args)
    shown, total = caf_rounds.failures(get_session(), campaign, caf_id)
    return render_template("emails/failures.html", campaign=campaign, failures=shown, total=total,
                           caf=request.args.get("caf", "").strip() if current_user.is_admin else "")


@bp.post("/courriels/<int:log_id>/renvoyer")
def resend_failure(log_id):
    """Send one failed message again (404 for another Caf's, as for one that does not exist)."""
    db = get_session()
    found = db.execute(select(Project.caf_id, Response.campaign_id)
                       .join(Response, Response.project_id == Project.id)
                       .join(EmailLog, EmailLog.response_id == Response.id).where(EmailLog.id == log_id)).first()
    if found is None or not current_user.can_review_caf(found.caf_id):
        abort(404)
    caf_id, campaign_id = found
    _resend_and_say(db, [log_id])
    return redirect(url_for("emails.list_failures", campaign_id=campaign_id, **_caf_arg()), 303)


@bp.post("/campagnes/<int:campaign_id>/courriels/echecs/renvoyer")
def resend_failures(campaign_id):
    """Send again every failed message of the Caf (an administrator's pick, or every Caf's)."""
    db = get_session()
    campaign = _campaign_or_404(campaign_id)
    caf_id = _caf_id(request.form)
    ids = caf_rounds.failed_ids(db, campaign, caf_id)
    if not ids:
        flash("Aucun message en échec à renvoyer : ils ont peut-être déjà été renvoyés.", "error")
    else:
        _resend_and_say(db, ids, every=True)
    return redirect(url_for("emails.list_failures", campaign_id=campaign.id, **_caf_arg()), 303)


def _resend_and_say(db, log_ids, every=False):
    """Put the messages back in line, commit, wake this process's sender and say what happened.

    One message: refused with its reason if it may not leave again. Every
    failure of the list: those that may leave go, the others are counted.
    """
    caf_id = None if current_user.is_admin else current_user.caf_id
    try:
        count = resend(db, caf_id, log_ids, clock.now(), skip_refused=every)
    except DomainError as refused:  # refused before anything changed (all or nothing)
        flash(refused.message, "error")
        return
    db.commit()
    if count:
        current_app.extensions["outbox"].wake()
        flash(f"{count_of(count, 'message')} de nouveau en attente d’envoi : "
              "ceux que le serveur refuse encore reviendront dans cette liste.")
    left = len(log_ids) - count if every else 0
    if left:
        flash(f"{count_of(left, 'message')} n’ont plus lieu d’être (bilan transmis, délai passé ou contact retiré) : "
              "ils ne sont pas renvoyés.", "error")
    elif not count:
        flash("Aucun message en échec à renvoyer : ils ont peut-être déjà été renvoyés.", "error")


def _caf_arg():
    number = request.form.get("caf", "").strip()
    return {"caf": number} if current_user.is_admin and number else {}
