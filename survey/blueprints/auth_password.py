"""A Caf user chooses a (new) password from the link an administrator sent them."""
from flask import abort, flash, redirect, render_template, request, url_for

from ..db import get_session
from ..errors import DomainError
from ..operations import reset_password
from ..password_links import user_for_token
from .auth import bp

# The form's labels, named in the error summary.
LABELS = dict([("password", "Nouveau mot de passe"), ("confirmation", "Confirmation")])


@bp.route("/connexion/mot-de-passe/<token>", methods=["GET", "POST"])
def choose_password(token):
    db = get_session()
    user = user_for_token(db, token)
    if user is None:
        abort(404)
    errors = {}
    if request.method == "POST":
        password, again = request.form.get("password", ""), request.form.get("confirmation", "")
        if password != again:
            errors["confirmation"] = "Les deux mots de passe ne sont pas identiques."
        else:
            try:
                reset_password(db, user.email, password)
            except DomainError as exc:  # beside the password field
                errors["password"] = exc.message
        if not errors:
            flash("Votre mot de passe est enregistré : connectez-vous.")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/choose_password.html", user=user, errors=errors, labels=LABELS), 400 if errors else 200
