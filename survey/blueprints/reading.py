"""Reading what partners wrote: the free texts of a campaign, searched and counted, for a Caf."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..db import get_session
from ..models import Caf, Campaign
from ..questionnaires import campaign_definition
from ..reports import reading

bp = Blueprint("reading", __name__, url_prefix="/caf")
PAGE_SIZE = 20


@bp.before_request
@login_required
def require_sign_in():
    """Every page of this blueprint needs a signed-in Caf user."""


def _selection(campaign_id):
    """The campaign, the Caf read (the reviewer's own, or the one an administrator picked), the filters,
    and the selection of bilans the closed answers chosen make."""
    db = get_session()
    campaign = db.get(Campaign, campaign_id) or abort(404)
    definition = campaign_definition(campaign)
    caf = current_user.caf
    if current_user.is_admin:
        number = request.args.get("caf", "").strip()
        caf = db.scalar(select(Caf).where(Caf.number == number)) or abort(404) if number else None
    filters = reading.filters_of(definition)
    known = {f.key: {code for code, _ in f.options} for f in filters}
    chosen = {key.removeprefix("r."): value for key, value in request.args.items()
              if key.startswith("r.") and value in known.get(key.removeprefix("r."), ())}
    return campaign, caf, filters, reading.Selection(campaign.id, definition, caf.id if caf else None, chosen)


def _cafs():
    """The Cafs an administrator may pick from; none for a reviewer."""
    return get_session().scalars(select(Caf).order_by(Caf.number)).all() if current_user.is_admin else []


@bp.get("/campagnes/<int:campaign_id>/textes")
def read_texts(campaign_id):
    campaign, caf, filters, selection = _selection(campaign_id)
    query = request.args.get("q", "").strip()[:200]
    page = request.args.get("page", 1, type=int)
    if query:
        total, page, pages, bilans = reading.search(get_session(), selection, query, page, PAGE_SIZE)
    else:
        total, page, pages, bilans = reading.page_of_bilans(get_session(), selection, page, PAGE_SIZE)
    return render_template(
        "review/texts.html", campaign=campaign, caf=caf, cafs=_cafs(), filter_groups=reading.grouped(filters),
        chosen=selection.chosen, query=query, searchable=bool(reading.words_of(query)), total=total, page=page,
        pages=pages, bilans=bilans, args=request.args,
    )


@bp.get("/campagnes/<int:campaign_id>/termes")
def frequent_terms(campaign_id):
    campaign, caf, filters, selection = _selection(campaign_id)
    total, terms = reading.frequent_terms(get_session(), selection)
    return render_template(
        "review/terms.html", campaign=campaign, caf=caf, cafs=_cafs(), filter_groups=reading.grouped(filters),
        chosen=selection.chosen, total=total, terms=terms, args=request.args,
    )
