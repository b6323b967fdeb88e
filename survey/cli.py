"""Flask commands: thin wrappers over the domain."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import get_session
from .definition import DEFINITIONS_DIR, read_definition_file
from .errors import DefinitionError


def register_commands(app):
    for command in (check, init_db, demo, create_user, set_role, deactivate_user, reset_password):
        app.cli.add_command(command)


ROLES = click.Choice(["reviewer", "admin"])


def _run(operation, *args):
    """Call an operation; a domain refusal becomes a French message and exit code 1."""
    from .errors import DomainError
    try:
        return operation(get_session(), *args)
    except DomainError as exc:
        get_session().rollback()
        click.echo(f"Erreur : {exc.message}", err=True)
        sys.exit(1)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
@click.option("--caf", "caf_number", help="Caf number (required for a reviewer).")
@click.option("--name", default="")
@click.password_option(help="At least 12 characters; asked for when omitted.")
@with_appcontext
def create_user(email, role, caf_number, name, password):
    """Create a reviewer (bound to a Caf) or an administrator."""
    from .models import Role
    from .operations import create_user as create
    user = _run(lambda db: create(db, email, password, Role(role), caf_number, name))
    click.echo(f"Utilisateur créé : {user.email} ({user.role.label}).")


@click.command("set-role")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
@click.option("--caf", "caf_number")
@with_appcontext
def set_role(email, role, caf_number):
    """Change a user's role (and Caf)."""
    from .models import Role
    from .operations import set_role as change
    user = _run(lambda db: change(db, email, Role(role), caf_number))
    click.echo(f"{user.email} est maintenant {user.role.label}.")


@click.command("deactivate-user")
@click.argument("email")
@with_appcontext
def deactivate_user(email):
    """Deactivate a user: they can no longer sign in, and their sessions end."""
    from .operations import deactivate_user as deactivate
    user = _run(lambda db: deactivate(db, email))
    click.echo(f"{user.email} est désactivé.")


@click.command("reset-password")
@click.argument("email")
@click.password_option(help="At least 12 characters; asked for when omitted.")
@with_appcontext
def reset_password(email, password):
    """Set a new password (and reactivate the user)."""
    from .operations import reset_password as reset
    user = _run(lambda db: reset(db, email, password))
    click.echo(f"Mot de passe de {user.email} changé.")


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths):
    """Validate questionnaire definitions (default: every bundled one)."""
    targets = paths or sorted(str(p) for p in DEFINITIONS_DIR.glob("*.json"))
    failed = False
    for path in targets:
        try:
            _, definition = read_definition_file(path)
        except DefinitionError as exc:
            failed = True
            click.echo(str(exc), err=True)
            continue
        questions = len(definition.questions)
        click.echo(f"{path}: valide ({definition.code} v{definition.version}, {len(definition.pages)} pages, {questions} questions)")
    if failed:
        sys.exit(1)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    from .migrate import upgrade
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Base de données à jour.")


@click.command("demo")
@with_appcontext
@click.option("--days", default=30, show_default=True, help="Days until the demo campaign closes.")
def demo(days):
    """Create the demo campaign and print the partners' personal links."""
    from .demo import seed_demo
    from .migrate import upgrade
    upgrade(current_app.config["DATABASE_URL"])
    links = seed_demo(get_session(), days)
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo("Campagne de démonstration prête.")
    from .demo import DEMO_USERS
    click.echo(f"Connexion des Caf : {base}/connexion")
    for email, password, label in DEMO_USERS:
        click.echo(f"  {label} : {email} / {password}")
    click.echo("Liens personnels des partenaires :")
    for project, contact, token in links:
        click.echo(f"  {project.reference} {project.structure_name} ({contact.email}):\n    {base}/r/{token}")
