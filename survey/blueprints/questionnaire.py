"""The blank questionnaire of a campaign: public, no personal link needed, to prepare the answers offline."""
from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from ..db import get_session, statement_by_statement
from ..documents import PREPARE, blank_pdf, condition_text, length_limits, upload_limits
from ..models import Campaign
from ..questionnaires import campaign_definition
from .partner import pdf_download

bp = Blueprint("questionnaire", __name__, url_prefix="/questionnaire")


def _campaign_or_404(campaign_code):
    return get_session().scalar(select(Campaign).where(Campaign.code == campaign_code)) or abort(404)


@bp.get("/<campaign_code>")
@statement_by_statement
def show_blank(campaign_code):
    campaign = _campaign_or_404(campaign_code)
    return render_template(
        "questionnaire/blank.html", campaign=campaign, definition=campaign_definition(campaign), prepare=PREPARE,
        condition_text=condition_text, length_limits=length_limits,
        upload_limits=upload_limits(current_app.config["UPLOAD_MAX_BYTES"]),
    )


@bp.get("/<campaign_code>.pdf")
@statement_by_statement
def download_blank_pdf(campaign_code):
    campaign = _campaign_or_404(campaign_code)
    data = blank_pdf(campaign_definition(campaign), campaign.title, current_app.config["UPLOAD_MAX_BYTES"])
    return pdf_download(data, f"questionnaire-{campaign.code}.pdf")
