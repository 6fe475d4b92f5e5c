"""The work manager as a ``Dispatcher``: commit points, closing partitions, the gate,
metrics; with real worker threads."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.agent.work.support import (
    TOPIC,
    TP0,
    build,
    record,
    settle,
    wait_until,
)
from turnout.agent.records import Record
from turnout.agent.work import (
    FailedDecision,
    Ordering,
    WorkManager,
)
from turnout.protocol.partitions import PartitionId


def test_commit_point_is_none_until_something_new_completes(managers: list[WorkManager]) -> None:
    gate = threading.Event()
    manager = build(managers, lambda rec: gate.wait(5.0))
    manager.open_partition(TP0, 7, frozenset())
    assert manager.commit_point(TP0) is None
    manager.submit(record(7))
    assert manager.commit_point(TP0) is None
    gate.set()
    assert settle(manager, TP0, 8).next_offset == 8
    assert manager.commit_point(TP0) is None


def test_close_partition_drops_queued_records_and_waits_for_the_running_one(
    managers: list[WorkManager],
) -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[int] = []

    def handler(rec: Record) -> None:
        started.set()
        release.wait(5.0)
        seen.append(rec.offset)

    manager = build(managers, handler)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(5):
        manager.submit(record(offset))
    assert started.wait(5.0)
    threading.Timer(0.2, release.set).start()
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 1
    assert seen == [0]
    assert manager.in_flight == 0
    assert not manager.wants_more(TP0)


def test_close_partition_returns_within_its_timeout_when_a_handler_hangs(
    managers: list[WorkManager],
) -> None:
    release = threading.Event()
    abandoned: list[PartitionId] = []
    manager = build(managers, lambda rec: release.wait(5.0), on_abandoned=abandoned.append)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    wait_until(lambda: manager.in_flight == 1, "the record to start")
    time.sleep(0.05)
    begun = time.monotonic()
    final = manager.close_partition(TP0, 0.2)
    assert time.monotonic() - begun < 1.0
    assert final is not None and final.next_offset == 0
    assert abandoned == [TP0]  # told before close_partition returned
    release.set()
    wait_until(lambda: manager.in_flight == 0, "the late record to be accounted")


def test_the_processed_count_never_goes_down_when_partitions_close_or_a_manager_is_replaced(
    managers: list[WorkManager],
) -> None:
    registry = CollectorRegistry()
    first = build(managers, lambda rec: None, registry=registry)
    first.open_partition(TP0, 0, frozenset())
    for offset in range(5):
        first.submit(record(offset))
    settle(first, TP0, 5)
    first.close_partition(TP0, 1.0)
    assert first.processed_total() == 5
    second = build(managers, lambda rec: None, registry=registry)  # new settings, say
    second.open_partition(TP0, 5, frozenset())
    for offset in range(5, 8):
        second.submit(record(offset))
    settle(second, TP0, 8)
    assert registry.get_sample_value("turnout_work_processed_total", {"topic": TOPIC}) == 8


def test_metrics_count_processed_failures_and_latency_on_the_given_registry(
    managers: list[WorkManager],
) -> None:
    def broken_offset_2(rec: Record) -> None:
        if rec.offset == 2:
            raise RuntimeError("retryable")

    registry = CollectorRegistry()
    manager = build(
        managers,
        broken_offset_2,
        registry=registry,
        max_retries=1,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.set_high_watermark(TP0, 12)
    for offset in range(10):
        manager.submit(record(offset))
    settle(manager, TP0, 10)
    sample = registry.get_sample_value
    assert sample("turnout_work_processed_total", {"topic": TOPIC}) == 9
    assert sample("turnout_work_failed_attempts_total", {"topic": TOPIC}) == 2
    assert sample("turnout_work_retries_total", {"topic": TOPIC}) == 1
    assert (
        sample("turnout_work_exhausted_total", {"topic": TOPIC, "decision": "COMMIT_AND_CONTINUE"})
        == 1
    )
    assert sample("turnout_work_handler_latency_seconds_count") == 11
    assert sample("turnout_work_lag", {"topic": TOPIC, "partition": "0"}) == 2
    assert sample("turnout_work_in_flight", {"topic": TOPIC, "partition": "0"}) == 0


@pytest.mark.parametrize("ordering", list(Ordering))
def test_nothing_starts_while_the_agents_gate_is_shut_and_work_resumes_when_it_opens(
    managers: list[WorkManager], ordering: Ordering
) -> None:
    open_ = threading.Event()
    seen: list[int] = []
    manager = build(
        managers,
        lambda rec: seen.append(rec.offset),
        ordering=ordering,
        gate=lambda tp: open_.is_set(),
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(20):
        manager.submit(record(offset, key=b"k%d" % (offset % 2)))
    time.sleep(0.2)
    assert seen == []
    assert manager.in_flight == 20
    open_.set()
    settle(manager, TP0, 20)
    assert sorted(seen) == list(range(20))
