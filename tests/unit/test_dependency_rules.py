"""The package boundaries of docs/architecture.md, checked over every import statement.

The walk reads every ``import`` and ``from ... import`` in the tree (module level and
inside functions alike), so a lazy import cannot slip past a rule.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: The libraries only the server side (the control plane) may use: a service that embeds
#: the agent installs none of them.
SERVER_LIBRARIES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg"}
)


@dataclass(frozen=True)
class Rule:
    """Modules under ``package`` may import first-party modules only from ``allowed``."""

    package: str
    allowed: frozenset[str]
    reason: str


FIRST_PARTY_RULES = (
    Rule("turnout.zk", frozenset({"turnout.zk"}), "the gateway depends on nothing of ours"),
    Rule(
        "turnout.protocol",
        frozenset({"turnout.protocol", "turnout.zk"}),
        "the contract depends only on the gateway it is written through",
    ),
    Rule(
        "turnout.agent",
        frozenset({"turnout.agent", "turnout.producer", "turnout.protocol", "turnout.zk"}),
        "the agent never imports the control plane (nor test or bench tooling); its "
        "processors write through the producer",
    ),
    Rule(
        "turnout.controlplane",
        frozenset({"turnout.controlplane", "turnout.protocol", "turnout.zk"}),
        "the control plane never imports the agent: they share only protocol and zk",
    ),
    Rule(
        "turnout.verify",
        frozenset({"turnout.verify", "turnout.protocol", "turnout.agent"}),
        "the verifier judges agents' histories and depends on nothing server-side",
    ),
    Rule(
        "turnout.producer",
        frozenset({"turnout.producer", "turnout.protocol"}),
        "the producer stands alone, so that a service can use it without the agent "
        "and the agent can build processors on it",
    ),
    Rule("turnout.devstack", frozenset({"turnout.devstack"}), "the local stack stands alone"),
    Rule(
        "turnout.syslog",
        frozenset({"turnout.syslog"}),
        "the syslog server installs and runs without the agent, the control plane or their extras",
    ),
    Rule("bench", frozenset({"bench", "turnout"}), "benchmarks never import the test tree"),
)

#: The only third-party libraries the syslog server may import (plus the standard library).
SYSLOG_LIBRARIES = frozenset(
    {"confluent_kafka", "google", "prometheus_client", "pydantic", "pydantic_settings", "typer"}
)

#: Packages that make up what ``pip install turnout`` (no extras) gives an embedding service.
CORE_PACKAGES = ("turnout.agent", "turnout.producer", "turnout.protocol", "turnout.zk")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names, with its line."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """Every module the import statements of ``source`` (a module of ``package``) name."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package.replace(".", "/")).rglob("*.py"))


def violations(rule: Rule) -> list[str]:
    found = []
    for path in python_files(rule.package):
        for line, module in imported_modules(path):
            first_party = in_package(module, "turnout") or in_package(module, "bench")
            first_party = first_party or in_package(module, "tests")
            if first_party and not any(in_package(module, ok) for ok in rule.allowed):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("rule", FIRST_PARTY_RULES, ids=lambda rule: rule.package)
def test_each_package_imports_only_what_its_rule_allows(rule: Rule) -> None:
    assert violations(rule) == [], rule.reason


def test_only_the_zk_package_imports_kazoo() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in python_files("turnout")
        if not in_package(module_name(path), "turnout.zk")
        for line, module in imported_modules(path)
        if in_package(module, "kazoo")
    ]
    assert offenders == []


def test_the_embeddable_core_imports_no_server_library() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for package in CORE_PACKAGES
        for path in python_files(package)
        for line, module in imported_modules(path)
        if module.split(".")[0] in SERVER_LIBRARIES
    ]
    assert offenders == []


def test_the_syslog_server_imports_only_its_own_libraries() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in python_files("turnout.syslog")
        for line, module in imported_modules(path)
        if not in_package(module, "turnout.syslog")
        and module.split(".")[0] not in SYSLOG_LIBRARIES | sys.stdlib_module_names
    ]
    assert offenders == []


def test_the_walk_sees_lazy_and_relative_imports() -> None:
    source = "from . import models\n\ndef f():\n    from turnout.agent import Agent\n"
    assert imports_in(source, "turnout.controlplane") == [
        (1, "turnout.controlplane"),
        (4, "turnout.agent"),
    ]
    rule = next(r for r in FIRST_PARTY_RULES if r.package == "turnout.controlplane")
    assert not any(in_package("turnout.agent", ok) for ok in rule.allowed)
