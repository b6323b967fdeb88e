"""Commands for Caf users' accounts: thin wrappers over survey.operations.users."""
import click
from flask.cli import with_appcontext

from . import ROLES, _run


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
@click.option("--caf", "caf_number", help="Caf number (required for a reviewer).")
@click.option("--name", default="")
@click.password_option(help="At least 12 characters, not guessable (see README); asked for when omitted.")
@with_appcontext
def create_user(email, role, caf_number, name, password):
    """Create a reviewer (bound to a Caf) or an administrator."""
    from ..models import Role
    from ..operations import create_user as create
    user = _run(lambda db: create(db, email, password, Role(role), caf_number, name))
    click.echo(f"Utilisateur créé : {user.email} ({user.role.label}).")


@click.command("set-role")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
@click.option("--caf", "caf_number")
@with_appcontext
def set_role(email, role, caf_number):
    """Change a user's role (and Caf)."""
    from ..models import Role
    from ..operations import set_role as change
    user = _run(lambda db: change(db, email, Role(role), caf_number))
    click.echo(f"{user.email} est maintenant {user.role.label}.")


@click.command("deactivate-user")
@click.argument("email")
@with_appcontext
def deactivate_user(email):
    """Deactivate a user: they can no longer sign in, and their sessions end."""
    from ..operations import deactivate_user as deactivate
    user = _run(lambda db: deactivate(db, email))
    click.echo(f"{user.email} est désactivé.")


@click.command("reset-password")
@click.argument("email")
@click.password_option(help="At least 12 characters, not guessable (see README); asked for when omitted.")
@with_appcontext
def reset_password(email, password):
    """Set a new password (and reactivate the user)."""
    from ..operations import reset_password as reset
    user = _run(lambda db: reset(db, email, password))
    click.echo(f"Mot de passe de {user.email} changé.")


@click.command("reset-second-factor")
@click.argument("email")
@with_appcontext
def reset_second_factor(email):
    """Turn off a user's second factor (lost phone and recovery codes); their sessions end."""
    from ..operations import disable_second_factor
    from ..operations.users import user_or_error

    def reset(db):
        user = user_or_error(db, email)
        disable_second_factor(db, user)
        return user
    user = _run(reset)
    click.echo(f"Double authentification de {user.email} désactivée : elle sera à réactiver à la prochaine connexion.")


USER_COMMANDS = (create_user, set_role, deactivate_user, reset_password, reset_second_factor)
