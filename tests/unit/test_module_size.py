"""Small modules, one concept each: a module over the limit says at its top why it is long."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Lines a module may have before it must explain itself.
MAX_LINES = 400
#: The phrase that opens the explanation, in the module's docstring.
REASON_MARKER = "Why this module is long:"


def long_modules_without_a_reason() -> list[str]:
    found = []
    for root in ("turnout", "bench"):
        for path in sorted((REPO / root).rglob("*.py")):
            source = path.read_text()
            lines = source.count("\n")
            if lines <= MAX_LINES:
                continue
            docstring = ast.get_docstring(ast.parse(source)) or ""
            if REASON_MARKER not in docstring:
                found.append(f"{path.relative_to(REPO)} ({lines} lines)")
    return found


def test_every_module_over_the_limit_says_why_at_its_top() -> None:
    assert long_modules_without_a_reason() == [], (
        f"split these modules, or say in their docstring '{REASON_MARKER} ...'"
    )
