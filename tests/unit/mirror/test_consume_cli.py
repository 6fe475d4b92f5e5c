"""``turnout mirror consume``: a colour consuming across a mirror is given the mirror,
its side and the other cluster; a wrong one is one line and exit code 2, before anything
connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from turnout.agent.cli import BadInput
from turnout.mirror.cli import app
from turnout.mirror.consume_cli import migration_of

HANDLER = "tests.support.agent_handlers:append_to_file"
AGENT = ["--deployment", "d", "--colour", "green", "--instance", "g-1", "--kafka", "b:9092"]


def test_the_options_give_the_migrating_colour_its_environment() -> None:
    assert migration_of("orders-mirror", "copies", "a-broker:9092", None) is not None


def test_a_side_that_is_neither_copies_nor_source_is_refused() -> None:
    with pytest.raises(BadInput, match="--side 'sideways' must be one of: copies, source"):
        migration_of("m", "sideways", "a:9092", None)


def test_a_missing_peer_security_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"peer security file .* is not a file"):
        migration_of("m", "source", "b:9092", tmp_path / "missing.env")


def test_an_empty_mirror_or_peer_is_refused() -> None:
    with pytest.raises(BadInput, match="must not be empty"):
        migration_of("", "copies", "a:9092", None)


def test_the_command_exits_2_with_the_reason_before_connecting() -> None:
    result = CliRunner().invoke(
        app,
        ["consume", HANDLER, "--mirror", "m", "--side", "up", "--peer-kafka", "a:9092", *AGENT],
    )
    assert result.exit_code == 2
    assert "turnout mirror consume: --side 'up' must be one of: copies, source" in result.output


def test_the_command_needs_the_mirror_side_and_peer() -> None:
    result = CliRunner().invoke(app, ["consume", HANDLER, "--mirror", "m", *AGENT])
    assert result.exit_code == 2
    assert "--side" in result.output
