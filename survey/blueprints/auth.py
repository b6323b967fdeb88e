"""Sign-in and sign-out of Caf users (reviewers and administrators)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import clock
from ..db import get_session
from ..models import User
from ..operations import record_failed_login, sign_in_blocked
from ..operations.users import normalize_email

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField("Adresse email", validators=[DataRequired("Indiquez votre adresse email."), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired("Indiquez votre mot de passe."), Length(max=500)])


def _safe_next(target):
    """Only a path of this site: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("review.index"))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = get_session()
        address = request.remote_addr or "?"
        now = clock.now()
        if sign_in_blocked(db, form.email.data, address, now):
            error = "Trop de tentatives de connexion. Réessayez dans 15 minutes."
            status = 429
        else:
            user = db.scalar(select(User).where(User.email == normalize_email(form.email.data)))
            if user is not None and user.is_active and user.check_password(form.password.data):
                user.last_sign_in_at = now  # the purge removes accounts unused for long
                db.commit()
                session.clear()  # a fresh session on sign-in: no fixation
                login_user(user)
                return redirect(_safe_next(request.args.get("next")) or url_for("review.index"))
            record_failed_login(db, form.email.data, address, now)
            error = "Adresse email ou mot de passe incorrect."
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, error=error, errors=form.errors or error), status


@bp.post("/deconnexion")
@login_required
def sign_out():
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("auth.sign_in"))


# Choosing a password from an administrator's link registers on this blueprint (it imports ``bp``).
from . import auth_password  # noqa: E402,F401
