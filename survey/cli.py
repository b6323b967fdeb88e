"""Flask commands: thin wrappers over the domain."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import get_session
from .definition import DEFINITIONS_DIR, read_definition_file
from .errors import DefinitionError


def register_commands(app):
    app.cli.add_command(check)
    app.cli.add_command(init_db)
    app.cli.add_command(demo)


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
    click.echo("Campagne de démonstration prête. Liens personnels des partenaires :")
    for project, contact, token in links:
        click.echo(f"  {project.reference} {project.structure_name} ({contact.email}):\n    {base}/r/{token}")
