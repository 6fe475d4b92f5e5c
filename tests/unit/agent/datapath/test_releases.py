"""Releases on a running agent: a partition being released is closed to new records, and
the release says where it committed."""

from __future__ import annotations

import logging

import pytest

from tests.unit.agent.kit import TOPIC, running_agent
from turnout.agent import AgentState, CommitPoint

TP0 = (TOPIC, 0)


def test_a_partition_being_released_is_closed_to_new_records() -> None:
    rig = running_agent()
    rig.dispatcher.points[TP0] = CommitPoint(4)  # progress the release commits
    rig.switch_colours()  # blue, the only agent, becomes standby
    rig.settle(lambda: rig.held() == frozenset())
    # The gate was shut before the drain began ...
    assert [(tp, gate_open) for tp, _, gate_open in rig.dispatcher.closed] == [(TP0, False)]
    # ... and stays shut; the final commit went out before the owner node was deleted.
    assert not rig.dispatcher.context.may_start(TP0)
    assert rig.observer.commits == [(TP0, 4)]
    assert rig.counter("partitions_released") == 1
    assert rig.loop.board.state is AgentState.RUNNING


def test_the_release_log_line_names_the_final_committed_offset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = running_agent()
    rig.dispatcher.points[TP0] = CommitPoint(4)
    with caplog.at_level(logging.INFO):
        rig.switch_colours()
        rig.settle(lambda: rig.held() == frozenset())
    released = [r for r in caplog.records if getattr(r, "event", None) == "released"]
    assert [(r.getMessage(), getattr(r, "offset", None)) for r in released] == [
        (f"released {TOPIC}/0 at 4", 4)
    ]


def test_a_release_waits_for_no_turn_on_the_consumer_before_its_owner_node_goes() -> None:
    rig = running_agent()
    rig.dispatcher.points[TP0] = CommitPoint(4)
    rig.switch_colours()
    rig.settle(lambda: rig.held() == frozenset())
    # No pause call (a turn behind a worker's poll) on the release's path: the shut gate
    # alone keeps the partition's records from starting, and the partition is
    # unassigned once its owner node is gone.
    assert rig.source.pause_calls == []
    assert not rig.source.has_assignment
    assert rig.observer.commits == [(TP0, 4)]
