"""WarmStandby: the dispatcher's preparation runs with the last standby request, when the
request changes and when a new dispatcher registers; a failing one is logged and left."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from turnout.agent.warm_standby import WarmStandby
from turnout.protocol.partitions import PartitionId


class Preparations:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[PartitionId, ...]]] = []

    def __call__(self, group: str, partitions: Sequence[PartitionId]) -> None:
        self.calls.append((group, tuple(partitions)))


def test_a_request_runs_the_registered_preparation_once_per_change() -> None:
    standby = WarmStandby()
    prepare = Preparations()
    standby.register(prepare)
    assert prepare.calls == []  # nothing requested yet
    standby.request("g", [("t", 1), ("t", 0)])
    standby.request("g", [("t", 0), ("t", 1)])  # the same request
    standby.request(None)
    assert prepare.calls == [("g", (("t", 0), ("t", 1)))]


def test_a_dispatcher_registered_later_prepares_for_the_last_request_at_once() -> None:
    standby = WarmStandby()
    standby.request("g", [("t", 0)])
    later = Preparations()
    standby.register(later)
    assert later.calls == [("g", (("t", 0),))]


def test_a_failing_preparation_is_logged_and_left(caplog: pytest.LogCaptureFixture) -> None:
    def broken(group: str, partitions: Sequence[PartitionId]) -> None:
        raise RuntimeError("no cluster")

    standby = WarmStandby()
    standby.register(broken)
    standby.request("g", [("t", 0)])
    assert "preparing the warm standby for g failed" in caplog.text
