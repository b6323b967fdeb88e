"""Administrators preview a questionnaire definition, page by page, as a partner would see it.

A bundled definition, or a JSON file sent for checking: it is validated and
shown, never stored, and needs no campaign. Every problem is listed with its
place in the JSON.
"""
import json

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..engine.definition import build_definition, read_definition_file
from ..engine.errors import DefinitionError
from ..engine.forms.builder import PageForm
from ..questionnaires import DEFINITIONS_DIR

bp = Blueprint("preview", __name__, url_prefix="/admin/apercu")

# A definition sent for checking is carried from page to page in the form, never stored.
MAX_DEFINITION_BYTES = 1024 * 1024
# Names of the preview's own fields: a question code never holds "__", so they never meet one.
CARRIED, SOURCE, PAGE = "apercu__definition", "apercu__source", "apercu__page"


class Blank:
    """What the page macros read of a response: nothing answered yet."""

    answers: dict = {}
    invalid: dict = {}


@bp.before_request
@login_required
def require_admin():
    """Administrators only; to anyone else these pages do not exist."""
    if not current_user.is_admin:
        abort(404)


def _bundled() -> list[str]:
    return sorted(path.stem for path in DEFINITIONS_DIR.glob("*.json"))


@bp.get("/")
def index():
    return render_template("admin/preview.html", bundled=_bundled(), definition=None, problems=None)


@bp.get("/<name>/page/<int:number>")
def show_bundled(name, number):
    if name not in _bundled():
        abort(404)
    _, definition = read_definition_file(DEFINITIONS_DIR / f"{name}.json")
    return _render(definition, number, name=name)


@bp.post("/")
def check_uploaded():
    """Check a JSON file (first post) or keep showing the one carried by the form (page changes)."""
    upload = request.files.get("fichier")
    if upload is not None and upload.filename:
        data = upload.read(MAX_DEFINITION_BYTES + 1)
        source = upload.filename
    else:
        data = request.form.get(CARRIED, "").encode()
        source = request.form.get(SOURCE, "définition")
    if not data:
        return render_template("admin/preview.html", bundled=_bundled(), definition=None,
                               problems=["Choisissez un fichier JSON de définition."]), 400
    if len(data) > MAX_DEFINITION_BYTES:
        return render_template("admin/preview.html", bundled=_bundled(), definition=None,
                               problems=["Le fichier dépasse 1 Mo : une définition n’est jamais aussi longue."]), 400
    problems = None
    try:
        content = json.loads(data.decode("utf-8"))
        definition = build_definition(content, source)
    except UnicodeDecodeError:
        problems = ["Le fichier n’est pas un texte UTF-8 : enregistrez-le en UTF-8."]
    except json.JSONDecodeError as exc:
        problems = [f"JSON invalide, ligne {exc.lineno} colonne {exc.colno} : {exc.msg}"]
    except DefinitionError as exc:
        problems = exc.errors
    if problems:
        return render_template("admin/preview.html", bundled=_bundled(), definition=None, problems=problems,
                               source=source), 422
    number = request.form.get(PAGE, "1")
    return _render(definition, int(number) if number.isdigit() else 1, carried=json.dumps(content), source=source)


def _render(definition, number, name=None, carried=None, source=None):
    page = definition.page(number) or abort(404)
    # Built for this request only: a definition sent for checking must not fill the forms' cache.
    fields = {name: field for question in page.questions for name, field in question.build_fields().items()}
    form = type("PreviewPage", (PageForm,), fields)(formdata=None)
    return render_template("admin/preview.html", bundled=_bundled(), definition=definition, page=page, form=form,
                           response=Blank(), problems=[], name=name, carried=carried, source=source or name,
                           fields={"carried": CARRIED, "source": SOURCE, "page": PAGE})
