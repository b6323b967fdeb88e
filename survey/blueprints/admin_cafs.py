"""National administrators: each Caf’s time zone, contact and own calendar."""
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..db import get_session
from ..engine.timefmt import parse_local, zone_name
from ..errors import DomainError
from ..models import Caf, CafWindow, Campaign
from ..models.caf import TIMEZONES
from ..operations import CafSettings, CafSettingsRefused, remove_caf_window, set_caf_window, update_caf
from .admin import bp

LABELS = {"name": "Nom de la Caf", "timezone": "Fuseau horaire", "contact_email": "Adresse électronique de contact",
          "contact_phone": "Téléphone", "contact_address": "Adresse postale", "contact_hours": "Horaires d’accueil",
          "contact_note": "Texte libre"}


@bp.get("/cafs")
def list_cafs():
    cafs = get_session().scalars(select(Caf).order_by(Caf.number)).all()
    return render_template("admin/cafs.html", cafs=cafs, zones=TIMEZONES)


def _caf_or_404(caf_id) -> Caf:
    return get_session().get(Caf, caf_id) or abort(404)


def _settings_of(caf: Caf) -> CafSettings:
    return CafSettings(name=caf.name, timezone=caf.timezone,
                       **{field: getattr(caf, field) or "" for field in LABELS if field.startswith("contact_")})


def _render(caf, form=None, errors=None, window_forms=None, status=200):
    db = get_session()
    campaigns = db.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    windows = {w.campaign_id: w for w in db.scalars(select(CafWindow).where(CafWindow.caf_id == caf.id))}
    labels = dict(LABELS)
    for campaign in campaigns:
        labels[f"w{campaign.id}-opens"] = f"Ouverture pour la Caf ({campaign.title})"
        labels[f"w{campaign.id}-closes"] = f"Fermeture pour la Caf ({campaign.title})"
    return render_template("admin/caf.html", caf=caf, form=form or _settings_of(caf), errors=errors or {},
                           labels=labels, zones=TIMEZONES, zone_label=zone_name(caf.timezone), campaigns=campaigns,
                           windows=windows, window_forms=window_forms or {}), status


@bp.get("/cafs/<int:caf_id>")
def edit_caf(caf_id):
    return _render(_caf_or_404(caf_id))


@bp.post("/cafs/<int:caf_id>")
def update_caf_settings(caf_id):
    caf = _caf_or_404(caf_id)
    form = CafSettings(**{field: request.form.get(field, "") for field in LABELS})
    try:
        update_caf(get_session(), caf, form)
    except CafSettingsRefused as refused:  # each problem beside its field
        return _render(caf, form, refused.problems, status=400)
    flash(f"Les réglages de la {caf.name} sont enregistrés.")
    return redirect(url_for("admin.edit_caf", caf_id=caf.id))


@bp.post("/cafs/<int:caf_id>/campagnes/<int:campaign_id>")
def save_caf_window(caf_id, campaign_id):
    db = get_session()
    caf = _caf_or_404(caf_id)
    campaign = db.get(Campaign, campaign_id) or abort(404)
    if request.form.get("action") == "remove":
        remove_caf_window(db, caf, campaign)
        flash(f"La {caf.name} suit de nouveau les dates de la campagne {campaign.title}.")
        return redirect(url_for("admin.edit_caf", caf_id=caf.id))
    prefix = f"w{campaign.id}"
    typed = {"opens": request.form.get(f"{prefix}-opens", "").strip(),
             "closes": request.form.get(f"{prefix}-closes", "").strip()}
    errors, moments = {}, {}
    for key, text in typed.items():
        try:
            moments[key] = parse_local(text, caf.timezone)
        except ValueError:
            errors[f"{prefix}-{key}"] = "Indiquez une date et une heure valides (jj/mm/aaaa hh:mm)."
    if not errors:
        try:
            set_caf_window(db, caf, campaign, moments["opens"], moments["closes"])
        except DomainError as exc:  # beside the closing field
            errors[f"{prefix}-closes"] = exc.message
    if errors:
        return _render(caf, errors=errors, window_forms={campaign.id: typed}, status=400)
    flash(f"Les dates de la {caf.name} pour {campaign.title} sont enregistrées.")
    return redirect(url_for("admin.edit_caf", caf_id=caf.id))
