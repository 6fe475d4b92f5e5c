"""`turnout mirror translate`'s output: one row per partition saying exact, bounded (with
its bound) or unknown, the same as JSON; a translation error is one line and exit 1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from turnout.mirror import translation
from turnout.mirror.cli import app
from turnout.mirror.translation import TranslatedPartition, TranslationError

ROWS = [
    TranslatedPartition("orders", 0, 10, "a.orders", 110, 0),
    TranslatedPartition("orders", 1, 50, "a.orders", 140, 9),
    TranslatedPartition("orders", 2, 3, "a.orders", None, None),
]
ARGS = ["translate", "--group", "g", "--deployment", "d", "--kafka", "s", "--target-kafka", "t"]


def test_the_table_says_per_partition_whether_it_is_exact_bounded_or_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(translation, "translate_group", lambda *args, **kwargs: ROWS)
    result = CliRunner().invoke(app, ARGS)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "source",
        "topic",
        "partition",
        "committed",
        "target",
        "topic",
        "target",
        "offset",
        "precision",
    ]
    assert lines[1].split() == ["orders", "0", "10", "a.orders", "110", "exact"]
    assert "bounded (re-reads at most 9)" in lines[2]
    assert lines[3].split()[:5] == ["orders", "2", "3", "a.orders", "-"]
    assert "unknown" in lines[3]


def test_json_holds_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translation, "translate_group", lambda *args, **kwargs: ROWS)
    result = CliRunner().invoke(app, [*ARGS, "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["partition"], r["target_offset"], r["precision"]) for r in rows] == [
        (0, 110, "exact"),
        (1, 140, "bounded"),
        (2, None, "unknown"),
    ]
    assert rows[1]["rereads_at_most"] == 9


def test_a_translation_error_is_one_line_and_exit_code_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> list[TranslatedPartition]:
        raise TranslationError("group 'g' has no committed offsets on s")

    monkeypatch.setattr(translation, "translate_group", refuse)
    result = CliRunner().invoke(app, ARGS)
    assert result.exit_code == 1
    assert result.stderr == "turnout mirror translate: group 'g' has no committed offsets on s\n"
