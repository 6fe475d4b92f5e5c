"""Helpers for the work manager's unit tests: records and bounded waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record
from turnout.agent.work import WorkManager
from turnout.protocol.partitions import PartitionId

TOPIC = "orders"
#: Generous: these tests run real threads on a shared 2-core machine.
WAIT_S = 10.0


def record(offset: int, key: bytes | None = None, partition: int = 0, topic: str = TOPIC) -> Record:
    return Record(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=b"v%d" % offset,
        headers=(("h", b"1"),),
        timestamp_ms=1_700_000_000_000 + offset,
        epoch=1,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def settle(manager: WorkManager, tp: PartitionId, expected_next: int) -> CommitPoint:
    """Wait until the commit point of ``tp`` reaches ``expected_next``; return it."""
    seen: list[CommitPoint] = []

    def reached() -> bool:
        point = manager.commit_point(tp)
        if point is not None:
            seen.append(point)
        return bool(seen) and seen[-1].next_offset == expected_next

    wait_until(reached, f"commit point {expected_next} (last {seen[-1:] or None})")
    return seen[-1]
