"""Public pages: the home page, legal notice, personal-data notice, accessibility statement, the Cafs' contacts.

Their French text is bundled (``templates/legal/``); a deployment replaces any
of them by a file of the same name in ``LEGAL_DIR``, without touching the code.
"""
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from sqlalchemy import select

from ..db import get_session
from ..models import Caf

bp = Blueprint("legal", __name__)
PUBLIC_ENDPOINTS = ("legal.show_home", "legal.show_legal_notice", "legal.show_privacy_notice", "legal.show_accessibility_statement",
                    "legal.show_contacts")


def use_deployment_texts(app):
    """Look for ``legal/<page>.html`` in the deployment's ``LEGAL_DIR`` before the bundled one."""
    deployment = PrefixLoader({"legal": FileSystemLoader(app.config["LEGAL_DIR"])})
    app.jinja_env.loader = ChoiceLoader([deployment, app.jinja_env.loader])


def _settings():
    config = current_app.config
    return {
        "operator": config["LEGAL_OPERATOR"], "operator_address": config["LEGAL_OPERATOR_ADDRESS"],
        "director": config["LEGAL_DIRECTOR"], "host": config["LEGAL_HOST"], "dpo": config["LEGAL_DPO"],
        "accessibility_contact": config["ACCESSIBILITY_CONTACT"],
        "retention": {"contacts": config["RETENTION_CONTACT_MONTHS"], "accounts": config["RETENTION_ACCOUNT_MONTHS"],
                      "documents": config["PURGE_DOCUMENTS"], "sign_ins": config["RETENTION_SIGN_IN_DAYS"]},
    }


@bp.get("/")
def show_home():
    """Whoever types the site's address: a signed-in Caf user goes to the campaigns; anyone else learns where
    each kind of visitor goes (a partner through its emailed link, a Caf user by signing in)."""
    if current_user.is_authenticated:
        return redirect(url_for("review.index"))
    return render_template("legal/accueil.html")


@bp.get("/mentions-legales")
def show_legal_notice():
    return render_template("legal/mentions-legales.html", legal=_settings())


@bp.get("/donnees-personnelles")
def show_privacy_notice():
    return render_template("legal/donnees-personnelles.html", legal=_settings())


@bp.get("/accessibilite")
def show_accessibility_statement():
    return render_template("legal/accessibilite.html", legal=_settings())


@bp.get("/contact")
def show_contacts():
    cafs = get_session().scalars(select(Caf).order_by(Caf.number)).all()
    return render_template("legal/contact.html", cafs=cafs, legal=_settings())
