"""The engine stands alone: survey/engine/ imports nothing of the Clas domain, the database or the views.

Another programme reuses it by writing a definition; that holds only while no
module of the engine reaches into models, operations, Cafs, campaigns, the
database session or the blueprints. Read from the source (every ``import`` and
``from ... import``, relative ones resolved), so a lazy import inside a
function is caught too.
"""
import ast
import subprocess
import sys
from pathlib import Path

import survey

ENGINE = Path(survey.__file__).parent / "engine"
# What the engine may use beside the standard library and itself.
THIRD_PARTY = {"marshmallow", "wtforms", "flask_wtf", "stdnum", "markupsafe"}


def imported_modules(path: Path) -> set[str]:
    package = ["survey", *path.relative_to(ENGINE.parent).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            if node.module is None:  # from . import x: x is a module of the package
                found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top == "survey":
        return module == "survey.engine" or module.startswith("survey.engine.")
    return top in THIRD_PARTY or top in sys.stdlib_module_names or top == "__future__"


def test_the_engine_imports_only_itself_the_standard_library_and_its_form_libraries():
    offending = [f"{path.relative_to(ENGINE.parent)}: {module}"
                 for path in sorted(ENGINE.rglob("*.py"))
                 for module in sorted(imported_modules(path)) if not allowed(module)]
    assert not offending, "the engine must not import these:\n" + "\n".join(offending)


def test_the_check_sees_a_forbidden_import(tmp_path):
    assert not allowed("survey.models") and not allowed("survey.db") and not allowed("sqlalchemy")
    assert not allowed("flask") and allowed("survey.engine.questions.base") and allowed("marshmallow")


def test_the_engine_loads_and_checks_a_definition_with_nothing_else_of_the_application_imported():
    # A fresh interpreter: importing the engine must not pull the models, the database or Flask's views in.
    code = ("import sys; from survey.engine.definition import build_definition; from survey.questionnaires import DEFINITIONS_DIR; "
            "import json; d = build_definition(json.loads((DEFINITIONS_DIR / 'clas-2024-2025.json').read_text()), 'x'); "
            "bad = sorted(m for m in sys.modules if m.startswith(('survey.models', 'survey.operations', 'survey.db', "
            "'survey.blueprints', 'sqlalchemy'))); print(len(d.pages), bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pages, bad = result.stdout.split(" ", 1)
    assert int(pages) > 3 and bad.strip() == "[]", result.stdout
