"""National administrators: campaigns and the import of funded projects."""
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import clock
from ..db import get_session
from ..engine.definition import read_definition_file
from ..engine.timefmt import parse_local
from ..errors import DomainError
from ..models import Campaign, Response
from ..operations import create_campaign, import_projects
from ..questionnaires import DEFINITIONS_DIR
from . import on_refusal

bp = Blueprint("admin", __name__, url_prefix="/admin")
CAMPAIGN_CODE = re.compile(r"[a-z0-9][a-z0-9-]{2,59}")


@bp.before_request
@login_required
def require_admin():
    """Administrators only; to anyone else these pages do not exist."""
    if not current_user.is_admin:
        abort(404)


@on_refusal(bp)
def refused(error):
    """A refusal no form shows beside its field: the administration's home page says why."""
    flash(error.message, "error")
    return redirect(url_for("admin.index"))


def _bundled() -> dict[str, tuple]:
    """The bundled questionnaires by key (``code@version``): (path, definition), most recent first."""
    found = {}
    for path in sorted(DEFINITIONS_DIR.glob("*.json"), reverse=True):
        _, definition = read_definition_file(path)
        found[f"{definition.code}@{definition.version}"] = (path, definition)
    return found


CAMPAIGN_LABELS = {"definition": "Questionnaire", "code": "Code de la campagne", "title": "Titre",
                   "opens": "Ouverture", "closes": "Fermeture"}


@bp.get("/")
def index(errors=None, status=200):
    db = get_session()
    campaigns = db.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    counts = dict(db.execute(select(Response.campaign_id, func.count()).group_by(Response.campaign_id)).all())
    definitions = [(key, f"{definition.title} – version {definition.version}")
                   for key, (_path, definition) in _bundled().items()]
    return render_template("admin/index.html", campaigns=campaigns, counts=counts, definitions=definitions,
                           errors=errors or {}, labels=CAMPAIGN_LABELS, form=request.form), status


@bp.post("/campagnes")
def add_campaign():
    """Every problem of the form is named at once; nothing is created until there is none."""
    form = request.form
    errors = {}
    bundled = _bundled()
    if form.get("definition", "") not in bundled:
        errors["definition"] = "Choisissez un questionnaire de la liste."
    code = form.get("code", "").strip()
    if not CAMPAIGN_CODE.fullmatch(code):
        errors["code"] = "Le code compte 3 à 60 caractères : minuscules, chiffres et tirets."
    elif get_session().scalar(select(Campaign).where(Campaign.code == code)) is not None:
        errors["code"] = f"Une campagne a déjà le code {code}."
    if len(form.get("title", "").strip()) > 200:
        errors["title"] = "Le titre compte 200 caractères au plus."
    moments = {}
    for name in ("opens", "closes"):
        try:
            moments[name] = parse_local(form.get(name, ""), "Europe/Paris")
        except ValueError:
            errors[name] = "Indiquez une date et une heure valides (jj/mm/aaaa hh:mm)."
    if len(moments) == 2 and moments["opens"] >= moments["closes"]:
        errors["closes"] = "La fermeture doit suivre l'ouverture."
    if errors:
        return index(errors, 400)
    path, _ = bundled[form["definition"]]
    content, _ = read_definition_file(path)
    try:
        campaign = create_campaign(get_session(), code, content, moments["opens"], moments["closes"],
                                   form.get("title", "").strip() or None)
    except DomainError as exc:  # beside the code, in the form shown back
        return index({"code": exc.message}, 400)
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
    report = import_projects(db, campaign, upload.read(), clock.now(), valid_only=request.form.get("valides") == "1",
                             dry_run=request.form.get("essai") == "1")
    return render_template("admin/import.html", campaign=campaign, report=report), 200 if not report.errors else 422


# The Caf, demo email and user pages register on this blueprint (imported last: they import ``bp``).
from . import admin_cafs, admin_mailbox, admin_users  # noqa: E402,F401
