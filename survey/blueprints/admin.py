"""National administrators: campaigns and the import of funded projects."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..db import get_session
from ..definition import DEFINITIONS_DIR, read_definition_file
from ..errors import DomainError
from ..importer import import_projects
from ..models import Campaign, Response
from ..operations import create_campaign
from ..timefmt import parse_local

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Administrators only; to anyone else these pages do not exist."""
    if not current_user.is_admin:
        abort(404)


def _bundled():
    return sorted(path.name for path in DEFINITIONS_DIR.glob("*.json"))


@bp.get("/")
def index(error=None, status=200):
    db = get_session()
    campaigns = db.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    counts = dict(db.execute(select(Response.campaign_id, func.count()).group_by(Response.campaign_id)).all())
    return render_template("admin/index.html", campaigns=campaigns, counts=counts, definitions=_bundled(),
                           error=error, form=request.form), status


@bp.post("/campagnes")
def add_campaign():
    name = request.form.get("definition", "")
    if name not in _bundled():
        return index("Choisissez un questionnaire de la liste.", 400)
    try:
        content, _ = read_definition_file(DEFINITIONS_DIR / name)
        tz = "Europe/Paris"
        opens_at = parse_local(request.form.get("opens", ""), tz)
        closes_at = parse_local(request.form.get("closes", ""), tz)
        campaign = create_campaign(get_session(), request.form.get("code", "").strip(), content, opens_at, closes_at,
                                   request.form.get("title", "").strip() or None)
    except ValueError:
        return index("Indiquez des dates d'ouverture et de fermeture valides.", 400)
    except DomainError as exc:
        get_session().rollback()
        return index(exc.message, 400)
    get_session().commit()
    flash(f"La campagne {campaign.code} est créée.")
    return redirect(url_for("admin.show_import", campaign_id=campaign.id))


@bp.get("/campagnes/<int:campaign_id>/import")
def show_import(campaign_id):
    campaign = get_session().get(Campaign, campaign_id) or abort(404)
    return render_template("admin/import.html", campaign=campaign, report=None)


@bp.post("/campagnes/<int:campaign_id>/import")
def run_import(campaign_id):
    db = get_session()
    campaign = db.get(Campaign, campaign_id) or abort(404)
    upload = request.files.get("fichier")
    if upload is None or not upload.filename:
        return render_template("admin/import.html", campaign=campaign, report=None,
                               error="Choisissez un fichier CSV."), 400
    report = import_projects(db, campaign, upload.read(), valid_only=request.form.get("valides") == "1",
                             dry_run=request.form.get("essai") == "1")
    return render_template("admin/import.html", campaign=campaign, report=report), 200 if not report.errors else 422


# The Caf pages register on this blueprint (imported last: they import ``bp``).
from . import admin_cafs  # noqa: E402,F401
