"""``python -m turnout.verify LOG_PATH... [--planned-only]``: check logs, print the report.

Prints the report as one JSON object on stdout and exits 0 when the history is correct,
1 when it is not, 2 when the logs cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from turnout.verify.checker import check
from turnout.verify.log import read_history

#: Exit statuses: the history failed a check; the logs could not be read.
EXIT_ANOMALIES = 1
EXIT_UNREADABLE = 2


def verify(
    paths: Annotated[
        list[Path], typer.Argument(help="Log files, or directories of *.jsonl logs.", exists=True)
    ],
    planned_only: Annotated[
        bool, typer.Option("--planned-only", help="Any duplicate fails (no faults in the run).")
    ] = False,
) -> None:
    """Check producer and agent logs; print the report as JSON."""
    try:
        history = read_history(*paths)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"cannot read the logs: {exc}\n")
        raise typer.Exit(EXIT_UNREADABLE) from exc
    report = check(history.produced, history.events, planned_only=planned_only)
    sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.ok:
        raise typer.Exit(EXIT_ANOMALIES)


def main() -> None:
    typer.run(verify)
