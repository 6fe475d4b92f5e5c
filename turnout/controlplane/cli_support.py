"""What the control plane's CLI modules share: failing with one line, importing the server
libraries only when a server-side command runs, and plain-text tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

#: What the ``controlplane`` extra installs (top-level module names).
SERVER_LIBRARIES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "limits"}
)


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def server_libraries(command: str) -> Iterator[None]:
    """Wrap a server-side command's imports: a missing server library becomes one line
    naming the extra to install, and exit code 1."""
    try:
        yield
    except ModuleNotFoundError as exc:
        library = (exc.name or "").partition(".")[0]
        if library not in SERVER_LIBRARIES:
            raise
        raise fail(
            f"`turnout {command}` runs the control plane, whose libraries are not installed "
            f"(no {library}): pip install 'turnout[controlplane]'"
        ) from None


def table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "  ".join(header) + "\n(none)"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
