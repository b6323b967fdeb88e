"""National administrators: Caf users from the web (create, change role, deactivate, send a password link)."""
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..db import get_session
from ..engine.forms.validators import Email
from ..errors import DomainError
from ..mail.messages import SmtpUnavailable
from ..models import Caf, Role, User
from ..operations import create_user, deactivate_user, set_role
from ..password_links import send_password_link
from .admin import bp

LABELS = {"email": "Adresse électronique", "name": "Nom", "role": "Rôle", "caf": "Caf"}


def _render(form=None, errors=None, status=200):
    db = get_session()
    users = db.scalars(select(User).where(User.purged_at.is_(None)).order_by(User.active.desc(), User.email)).all()
    cafs = db.scalars(select(Caf).order_by(Caf.number)).all()
    return render_template("admin/users.html", users=users, cafs=cafs, roles=list(Role), form=form or {},
                           errors=errors or {}, labels=LABELS), status


@bp.get("/utilisateurs")
def list_users():
    return _render()


def _account_problems(db, form) -> dict[str, str]:
    problems = {}
    if not Email().regex.fullmatch(form["email"]) or len(form["email"]) > 254:
        problems["email"] = "Indiquez une adresse électronique valide, par exemple prenom.nom@caf73.example."
    elif db.scalar(select(User).where(User.email == form["email"])) is not None:
        problems["email"] = f"Un utilisateur a déjà l’adresse {form['email']}."
    if len(form["name"]) > 200:
        problems["name"] = "Le nom compte 200 caractères au plus."
    if form["role"] not in {role.value for role in Role}:
        problems["role"] = "Choisissez un rôle."
    elif form["role"] == Role.REVIEWER.value and db.scalar(select(Caf).where(Caf.number == form["caf"])) is None:
        problems["caf"] = "Choisissez la Caf de l’instructeur."
    return problems


def _send_link(user, welcome):
    try:
        send_password_link(user, welcome=welcome)
    except SmtpUnavailable as exc:
        # The log names the account, not its address (server logs outlive the purge).
        current_app.logger.warning("password link to user %s not sent: %s", user.id,
                                   str(exc).replace(user.email, "[adresse du compte]"))
        flash(f"Le lien pour choisir un mot de passe n’a pas pu être envoyé à {user.email} ({exc}) : "
              "réessayez avec « Envoyer un lien de mot de passe ».", "error")
        return False
    return True


@bp.post("/utilisateurs")
def add_user():
    db = get_session()
    form = {name: request.form.get(name, "").strip() for name in LABELS}
    form["email"] = form["email"].lower()
    problems = _account_problems(db, form)
    if problems:
        return _render(form, problems, 400)
    # Nobody knows this password: the new user chooses theirs from the emailed link.
    user = create_user(db, form["email"], secrets.token_urlsafe(32), Role(form["role"]), form["caf"] or None, form["name"])
    if _send_link(user, welcome=True):
        flash(f"Le compte de {user.email} est créé ; un lien pour choisir son mot de passe lui a été envoyé.")
    return redirect(url_for("admin.list_users"))


def _user_or_404(user_id) -> User:
    user = get_session().get(User, user_id)
    if user is None or user.purged_at is not None:
        abort(404)
    return user


@bp.post("/utilisateurs/<int:user_id>/role")
def change_role(user_id):
    db = get_session()
    user = _user_or_404(user_id)
    role, caf = request.form.get("role", ""), request.form.get("caf", "").strip()
    problems = {}
    if role not in {r.value for r in Role}:
        problems["role"] = "Choisissez un rôle."
    elif user.id == current_user.id and role != Role.ADMIN.value:
        problems["role"] = "Vous ne pouvez pas retirer votre propre rôle d’administrateur."
    if not problems:
        try:
            set_role(db, user.email, Role(role), caf or None)
        except DomainError as exc:  # with the form's other problems
            problems["caf"] = exc.message
    if problems:
        for message in problems.values():
            flash(f"{user.email} : {message}", "error")
        return _render(status=400)
    flash(f"{user.email} est maintenant {user.role.label}{f' ({user.caf.name})' if user.caf else ''}.")
    return redirect(url_for("admin.list_users"))


@bp.post("/utilisateurs/<int:user_id>/desactivation")
def deactivate_account(user_id):
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash("Vous ne pouvez pas désactiver votre propre compte.", "error")
        return _render(status=400)
    deactivate_user(get_session(), user.email)
    flash(f"Le compte de {user.email} est désactivé : il ne permet plus de se connecter.")
    return redirect(url_for("admin.list_users"))


@bp.post("/utilisateurs/<int:user_id>/lien")
def send_user_password_link(user_id):
    user = _user_or_404(user_id)
    if _send_link(user, welcome=False):
        flash(f"Un lien pour choisir un nouveau mot de passe a été envoyé à {user.email}.")
    return redirect(url_for("admin.list_users"))
