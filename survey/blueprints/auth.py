"""Sign-in and sign-out of Caf users (reviewers and administrators), and their second factor."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from .. import clock
from ..access import start_caf_session
from ..db import get_session
from ..errors import DomainError
from ..models import User
from ..operations import (
    authenticate,
    check_second_factor,
    disable_second_factor,
    enable_second_factor,
    sign_in_blocked,
    sign_out_everywhere,
)
from ..operations.users import new_totp_secret, record_failure, totp_uri

bp = Blueprint("auth", __name__)
SECOND_FACTOR_DELAY = 300  # seconds between the password and the code
TOO_MANY = "Trop de tentatives de connexion depuis cette adresse. Réessayez dans 15 minutes."


def _printable(form, field):
    if any(ord(character) < 32 or ord(character) == 127 for character in field.data or ""):
        raise ValidationError("Cette adresse contient un caractère invalide.")


class SignInForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[
        DataRequired("Indiquez votre adresse électronique."), Length(max=254), _printable])
    password = PasswordField("Mot de passe", validators=[DataRequired("Indiquez votre mot de passe."), Length(max=500)])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Indiquez le code."), Length(max=40)])


def _safe_next(target):
    """Only a path of this site: never an open redirect, never a header split."""
    if not target or any(ord(character) < 32 or ord(character) == 127 for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _address():
    return request.remote_addr or "?"


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("review.index"))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = get_session()
        now = clock.now()
        if sign_in_blocked(db, form.email.data, _address(), now):
            error, status = TOO_MANY, 429
        else:
            user = authenticate(db, form.email.data, form.password.data, _address(), now)
            if user is not None and user.has_second_factor:
                session.clear()
                session["second_factor_user"] = user.get_id()
                session["second_factor_since"] = int(now.timestamp())
                return redirect(url_for("auth.second_factor", next=_safe_next(request.args.get("next"))))
            if user is not None:
                start_caf_session(user)
                return redirect(_safe_next(request.args.get("next")) or url_for("review.index"))
            error = "Adresse électronique ou mot de passe incorrect."
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, error=error, errors=form.errors or error), status


def _pending_user():
    """The user who gave their password and now owes the code, within the delay."""
    user_id, since = session.get("second_factor_user"), session.get("second_factor_since")
    if not isinstance(user_id, str) or not isinstance(since, int) \
            or clock.now().timestamp() - since > SECOND_FACTOR_DELAY:
        return None
    id_text = user_id.partition(".")[0]
    user = get_session().get(User, int(id_text)) if id_text.isdigit() else None
    if user is None or not user.is_active or user.get_id() != user_id:
        return None
    return user


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_factor():
    if current_user.is_authenticated:
        return redirect(url_for("review.index"))
    user = _pending_user()
    if user is None:
        flash("Saisissez de nouveau votre adresse électronique et votre mot de passe.")
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        db = get_session()
        now = clock.now()
        if sign_in_blocked(db, user.email, _address(), now):
            error, status = TOO_MANY, 429
        elif check_second_factor(db, user, form.code.data, now):
            start_caf_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("review.index"))
        else:
            record_failure(db, user.email, _address(), now)
            error, status = "Ce code n’est pas le bon, ou il a déjà servi. Saisissez le code affiché maintenant.", 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_factor.html", form=form, error=error), status


@bp.post("/deconnexion")
@login_required
def sign_out():
    sign_out_everywhere(get_session(), current_user)
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("auth.sign_in"))


def _qr_code(uri: str) -> str:
    import segno  # 4 MiB, for the few who set up a second factor: not in every process

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@login_required
def set_up_second_factor():
    """Turn the second factor on (secret shown as a QR code, then one code to confirm), or off."""
    db = get_session()
    user = current_user._get_current_object()
    form = CodeForm()
    required = user.is_admin and current_app.config["ADMIN_SECOND_FACTOR"]
    error, status = None, 200
    if user.has_second_factor:
        if form.validate_on_submit() and not required:
            if check_second_factor(db, user, form.code.data, clock.now()):
                disable_second_factor(db, user)
                start_caf_session(user)
                flash("La double authentification est désactivée.")
                return redirect(url_for("auth.set_up_second_factor"))
            error, status = "Ce code n’est pas le bon. Saisissez le code affiché maintenant.", 400
        return render_template("auth/second_factor_status.html", form=form, required=required, error=error), status
    secret = session.get("totp_secret_pending")
    if not isinstance(secret, str):
        secret = session["totp_secret_pending"] = new_totp_secret()
    if form.validate_on_submit():
        try:
            codes = enable_second_factor(db, user, secret, form.code.data, clock.now())
        except DomainError as refused:
            error, status = refused.message, 400
        else:
            start_caf_session(user)  # enabling ended every session, this one included
            return render_template("auth/recovery_codes.html", codes=codes)
    elif request.method == "POST":
        error, status = "Indiquez le code à 6 chiffres affiché par l’application.", 400
    uri = totp_uri(user, secret)
    # In groups of four, as authenticator apps accept it, easier to copy, and it wraps on a phone.
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/second_factor_setup.html", form=form, secret=grouped, qr_code=_qr_code(uri),
                           required=required, error=error), status


# Choosing a password from an administrator's link registers on this blueprint (it imports ``bp``).
from . import auth_password  # noqa: E402,F401
