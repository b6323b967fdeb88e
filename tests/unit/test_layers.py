"""Arrows point down: only the callers of writes import survey.operations.

Views (blueprints/), commands (cli/), the application factory and the demo
call operations; everything else sits below them (models, the engine, links,
mail, reports, the import's reading of a file) and never reaches up. Read
from the source, relative imports resolved, lazy imports inside functions
included. That the engine imports nothing of survey outside itself is
tests/unit/test_engine_boundary.py.
"""
import ast
from pathlib import Path

import survey

from .test_engine_boundary import imported_modules

SURVEY = Path(survey.__file__).parent
CALLERS = ("operations/", "blueprints/", "cli/", "app.py", "demo.py")


def reaches_operations(module: str) -> bool:
    return module == "survey.operations" or module.startswith("survey.operations.")


def callers_of_operations(root: Path) -> list[str]:
    """``file: module`` for each import of survey.operations by a module that is not a caller."""
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if "migrations/" in where or where.startswith(CALLERS):
            continue
        found += [f"{where}: {module}" for module in sorted(imported_modules(path)) if reaches_operations(module)]
    return found


def test_nothing_below_the_views_and_commands_imports_operations():
    offending = callers_of_operations(SURVEY)
    assert not offending, "only views, commands, app.py and demo.py may import operations:\n" + "\n".join(offending)


def rollbacks(path: Path) -> list[int]:
    """The lines of ``path`` that roll a session back."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rollback"]


def test_views_leave_rolling_back_to_their_blueprints_one_handler_of_refusals():
    # An operation refuses before writing or rolls back; what a view lets through reaches
    # blueprints.on_refusal, which rolls back. A view rolling back by hand is the old pattern.
    blueprints = SURVEY / "blueprints"
    found = [f"{path.name}:{line}" for path in sorted(blueprints.glob("*.py")) if path.name != "__init__.py"
             for line in rollbacks(path)]
    assert not found, "roll back in blueprints.on_refusal, not in a view: " + ", ".join(found)
    assert rollbacks(blueprints / "__init__.py"), "on_refusal rolls back"


def test_the_check_sees_every_way_of_importing_operations(tmp_path, monkeypatch):
    # imported_modules names modules from their place under survey/: a copy of the tree's shape.
    monkeypatch.setattr("tests.unit.test_engine_boundary.ENGINE", tmp_path / "engine")
    (tmp_path / "mail").mkdir()
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "mail" / "lazy.py").write_text("def send():\n    from ..operations.review import add_note\n")
    (tmp_path / "mail" / "package.py").write_text("from .. import operations\n")
    (tmp_path / "links.py").write_text("import survey.operations.setup\n")
    (tmp_path / "models.py").write_text("from .engine import answers\nfrom . import links\n")
    (tmp_path / "blueprints" / "views.py").write_text("from ..operations import save_page\n")
    assert callers_of_operations(tmp_path) == [
        "links.py: survey.operations.setup",
        "mail/lazy.py: survey.operations.review",
        "mail/package.py: survey.operations",
    ]
