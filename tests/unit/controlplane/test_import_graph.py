"""The control plane's modules import each other without a cycle, lazy imports included.

A cycle is what makes a layered package unreadable (and what a function-local import
hides from Python's import machinery, not from the reader): the walk below reads every
import statement, at module level and inside functions, and resolves ``from package
import module`` to the module, so each edge is a real dependency between two files.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import turnout.controlplane

PACKAGE = "turnout.controlplane"
ROOT = Path(turnout.controlplane.__file__).resolve().parent


def module_of(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_by(module: str, source: str, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``source`` (the text of ``module``) imports anywhere."""
    package = module if f"{module}.__init__" in known else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # ``from package import module`` depends on the module, not just the package.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    known = {module_of(path) for path in paths}
    known |= {f"{module_of(p)}.__init__" for p in paths if p.name == "__init__.py"}
    return {
        module_of(path): imported_by(module_of(path), path.read_text(), known) for path in paths
    }


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_control_plane_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40, "the walk found too few modules to mean anything"
    assert cycle_in(graph) is None


def test_the_walk_sees_a_cycle_closed_by_a_lazy_import() -> None:
    known = {f"{PACKAGE}.services.a", f"{PACKAGE}.services.b", f"{PACKAGE}.services"}
    a = "from turnout.controlplane.services import b\n"
    b = "def view():\n    from turnout.controlplane.services.a import thing\n"
    graph = {
        f"{PACKAGE}.services.a": imported_by(f"{PACKAGE}.services.a", a, known),
        f"{PACKAGE}.services.b": imported_by(f"{PACKAGE}.services.b", b, known),
    }
    assert graph[f"{PACKAGE}.services.a"] == {f"{PACKAGE}.services", f"{PACKAGE}.services.b"}
    assert cycle_in(graph) is not None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from . import models\n", "turnout.controlplane.models"),
        (
            "from .coordination import connections\n",
            "turnout.controlplane.coordination.connections",
        ),
    ],
)
def test_the_walk_resolves_relative_imports(source: str, expected: str) -> None:
    known = {expected, f"{PACKAGE}.coordination"}
    assert expected in imported_by(f"{PACKAGE}.leader", source, known)
