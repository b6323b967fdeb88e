"""Campaign-wide tools of the Caf pages: exports and the dashboard (invitations and reminders: emails.py).

A reviewer always works on their own Caf; an administrator on every Caf, or one.
"""
import tempfile

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, stream_with_context, url_for
from flask import Response as HttpResponse
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock
from ..db import get_session
from ..models import Caf, Campaign, ResponseState
from ..questionnaires import campaign_definition
from ..reports import comparison, dashboard, export, xlsx

bp = Blueprint("reports", __name__, url_prefix="/caf")


@bp.before_request
@login_required
def require_sign_in():
    """Every page of this blueprint needs a signed-in Caf user."""


# -- exports -------------------------------------------------------------------

def _export_scope(campaign_id):
    """The campaign, and the Caf to export: the reviewer's own, or the one an admin picked."""
    db = get_session()
    campaign = db.get(Campaign, campaign_id) or abort(404)
    campaign_definition(campaign)  # loaded now: streamed exports read it later
    if not current_user.is_admin:
        return campaign, current_user.caf_id, current_user.caf.number
    number = request.args.get("caf", "").strip()
    if not number:
        return campaign, None, "toutes"
    caf = db.scalar(select(Caf).where(Caf.number == number)) or abort(404)
    return campaign, caf.id, caf.number


def _export_options():
    return export.ExportOptions(
        separator="," if request.args.get("sep") == "virgule" else ";",
        labels=request.args.get("valeurs") != "codes",
        headers=request.args.get("entetes") if request.args.get("entetes") in export.HEADERS else "libelles",
    )


def _send_built(write, mimetype, name):
    """Write a file into a temporary file (never held in memory) and send it as a download."""
    target = tempfile.TemporaryFile()
    try:
        write(target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return send_file(target, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


def _filename(campaign, caf_label, suffix):
    return f"{campaign.code}-caf-{caf_label}.{suffix}"


@bp.get("/campagnes/<int:campaign_id>/export.csv")
def export_csv(campaign_id):
    campaign, caf_id, caf_label = _export_scope(campaign_id)
    db = get_session()
    lines = export.csv_lines(db, campaign, caf_id, _export_options())

    def stream():
        try:
            yield from (line.encode("utf-8") for line in lines)
        finally:
            # The request's teardown has run before the download starts: end the
            # streamed query's transaction here, not whenever the session is collected.
            db.close()

    return HttpResponse(
        stream_with_context(stream()), mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(campaign, caf_label, "csv")}"'},
    )


@bp.get("/campagnes/<int:campaign_id>/export.xlsx")
def export_xlsx(campaign_id):
    campaign, caf_id, caf_label = _export_scope(campaign_id)
    try:
        return _send_built(lambda target: export.write_xlsx(target, get_session(), campaign, caf_id, _export_options()),
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           _filename(campaign, caf_label, "xlsx"))
    except xlsx.TooLargeForExcel:
        one_caf_at_a_time = ", ou exportez Caf par Caf" if caf_id is None else ""
        flash(f"Ces réponses dépassent ce qu'un fichier Excel peut contenir : téléchargez le CSV{one_caf_at_a_time}.",
              "error")
        return redirect(url_for("review.list_responses", campaign_id=campaign.id))


@bp.get("/campagnes/<int:campaign_id>/dictionnaire.csv")
def export_codebook(campaign_id):
    campaign, _caf_id, _label = _export_scope(campaign_id)
    lines = export.codebook_lines(campaign_definition(campaign), _export_options().separator)
    return HttpResponse((line.encode("utf-8") for line in lines), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{campaign.code}-dictionnaire.csv"'})


@bp.get("/campagnes/<int:campaign_id>/documents.zip")
def export_attachments(campaign_id):
    campaign, caf_id, caf_label = _export_scope(campaign_id)
    upload_dir = current_app.config["UPLOAD_DIR"]
    return _send_built(lambda target: export.write_attachments_zip(target, get_session(), campaign, caf_id, upload_dir),
                       "application/zip", _filename(campaign, caf_label, "zip"))


@bp.get("/campagnes/<int:campaign_id>/tableau-de-bord")
def show_dashboard(campaign_id):
    campaign, caf_id, caf_label = _export_scope(campaign_id)
    sort = request.args.get("tri", "retard")
    sort = sort if sort in comparison.SORTS else "retard"
    figures = dashboard.campaign_figures(get_session(), campaign, caf_id, clock.now(), sort)
    return render_template("review/dashboard.html", campaign=campaign, figures=figures, caf_label=caf_label,
                           states=list(ResponseState), sort=sort)
