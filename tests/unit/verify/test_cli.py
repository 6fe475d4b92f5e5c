"""``python -m turnout.verify``: JSON report on stdout, exit status is the verdict."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from typer.testing import CliRunner

from turnout.verify import EventLog, ProducedLog
from turnout.verify.cli import EXIT_ANOMALIES, EXIT_UNREADABLE, verify

_app = typer.Typer()
_app.command()(verify)


def _write_history(directory: Path, *, lose_one: bool) -> None:
    with ProducedLog.in_directory(directory) as produced, EventLog.in_directory(directory) as log:
        events = log.bind("a", "blue")
        events.claimed("g", "t", 0, 1, 0)
        for offset in range(3):
            produced.acked("t", 0, offset, None, f"id-{offset}")
        produced.acked("t", 0, 3, None, "id-3")
        for offset in range(3 if lose_one else 4):
            log.write_event(
                "processed",
                "a",
                "blue",
                {
                    "topic": "t",
                    "partition": 0,
                    "offset": offset,
                    "key": None,
                    "value": f"id-{offset}",
                    "epoch": 1,
                    "start_ns": time.monotonic_ns(),
                    "end_ns": time.monotonic_ns(),
                },
            )


def test_correct_history_prints_an_ok_report_and_exits_zero(tmp_path: Path) -> None:
    _write_history(tmp_path, lose_one=False)
    result = CliRunner().invoke(_app, [str(tmp_path), "--planned-only"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_lost_record_exits_with_the_anomaly_status(tmp_path: Path) -> None:
    _write_history(tmp_path, lose_one=True)
    result = CliRunner().invoke(_app, [str(tmp_path)])
    assert result.exit_code == EXIT_ANOMALIES
    assert json.loads(result.stdout)["lost"]["count"] == 1


def test_unreadable_log_exits_with_its_own_status(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text("not json\n")
    result = CliRunner().invoke(_app, [str(tmp_path)])
    assert result.exit_code == EXIT_UNREADABLE
    assert "not JSON" in result.stderr
