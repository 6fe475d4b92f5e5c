"""``turnout mirror consume``: a colour consuming across a mirror is given the mirror,
its side and the other cluster; a wrong one is one line and exit code 2, before anything
connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from turnout.agent.cli import BadInput
from turnout.mirror.cli import app
from turnout.mirror.consume_cli import migration_of, side_from_directive
from turnout.protocol import Binding, Colour, Directive, Role
from turnout.protocol.crossing import Crossing, MirrorSide

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


def test_the_command_needs_the_other_cluster() -> None:
    result = CliRunner().invoke(app, ["consume", HANDLER, "--mirror", "m", *AGENT])
    assert result.exit_code == 2
    assert "--peer-kafka" in result.output


SIDES = {
    Colour.BLUE: Crossing(mirror="orders-mirror", side=MirrorSide.SOURCE),
    Colour.GREEN: Crossing(mirror="orders-mirror", side=MirrorSide.COPIES),
}


def _directive(**crossings: object) -> Directive:
    return Directive(
        epoch=3,
        deployment="billing",
        live=Binding(group="billing", topics=("orders",)),
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        **crossings,  # type: ignore[arg-type]
    )


def test_an_omitted_mirror_or_side_is_the_directives_for_the_colour() -> None:
    migrating = _directive(crossings=SIDES)
    assert side_from_directive(migrating, Colour.GREEN, None, None) == ("orders-mirror", "copies")
    assert side_from_directive(migrating, Colour.BLUE, None, None) == ("orders-mirror", "source")
    # What is given wins (the agent then refuses to own anything if it contradicts).
    assert side_from_directive(migrating, Colour.GREEN, None, "source") == (
        "orders-mirror",
        "source",
    )


def test_a_directive_without_sides_makes_the_options_required() -> None:
    for directive in (None, _directive()):
        with pytest.raises(BadInput, match=r"gives green no side of a mirror.*--mirror and --side"):
            side_from_directive(directive, Colour.GREEN, "m", None)
