"""The strictly sequential dispatcher: order, retries, the ownership gate, drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from turnout.agent.dispatch import CommitPoint, DispatchContext
from turnout.agent.metrics import AgentMetrics
from turnout.agent.records import Record
from turnout.agent.sequential import SequentialDispatcher

TP = ("t", 0)


def _record(offset: int, partition: int = 0) -> Record:
    return Record("t", partition, offset, None, str(offset).encode(), (), 0, 1)


def _dispatcher(
    handler: Callable[[Record], object], gate: Callable[[Record], bool] = lambda r: True
) -> tuple[SequentialDispatcher, AgentMetrics]:
    metrics = AgentMetrics("d", "i")
    return SequentialDispatcher(DispatchContext(handler, gate, "i", metrics)), metrics


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_records_run_once_each_in_offset_order_and_complete_the_commit_point() -> None:
    seen: list[int] = []
    dispatcher, metrics = _dispatcher(lambda r: seen.append(r.offset))
    dispatcher.open_partition(TP, 5, frozenset())
    for offset in range(5, 25):
        dispatcher.submit(_record(offset))
    _wait(lambda: len(seen) == 20)
    assert seen == list(range(5, 25))
    assert dispatcher.commit_point(TP) == CommitPoint(25)
    assert dispatcher.commit_point(TP) is None  # nothing new since
    assert metrics.snapshot()["records_processed"] == 20
    dispatcher.close(1)


def test_a_failing_record_is_retried_never_skipped_and_counted() -> None:
    attempts: list[int] = []

    def flaky(record: Record) -> None:
        attempts.append(record.offset)
        if attempts.count(record.offset) < 3:
            raise RuntimeError("transient")

    dispatcher, metrics = _dispatcher(flaky)
    dispatcher.open_partition(TP, 0, frozenset())
    dispatcher.submit(_record(0))
    dispatcher.submit(_record(1))
    _wait(lambda: dispatcher.commit_point(TP) == CommitPoint(2) or False, 10)
    assert attempts == [0, 0, 0, 1, 1, 1]
    assert metrics.snapshot()["handler_errors"] == 4
    dispatcher.close(1)


def test_nothing_starts_while_the_gate_is_shut() -> None:
    open_gate = threading.Event()
    seen: list[int] = []
    dispatcher, _ = _dispatcher(lambda r: seen.append(r.offset), lambda r: open_gate.is_set())
    dispatcher.open_partition(TP, 0, frozenset())
    dispatcher.submit(_record(0))
    time.sleep(0.1)
    assert seen == [] and dispatcher.commit_point(TP) is None
    open_gate.set()
    _wait(lambda: seen == [0])
    dispatcher.close(1)


def test_close_waits_for_the_in_flight_record_and_drops_the_queued_ones() -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[int] = []

    def slow(record: Record) -> None:
        started.set()
        release.wait(5)
        seen.append(record.offset)

    dispatcher, _ = _dispatcher(slow)
    dispatcher.open_partition(TP, 0, frozenset())
    for offset in range(3):
        dispatcher.submit(_record(offset))
    assert started.wait(5)
    threading.Timer(0.1, release.set).start()
    point = dispatcher.close_partition(TP, 5)
    assert point == CommitPoint(1)  # the in-flight record finished inside the drain
    time.sleep(0.1)
    assert seen == [0]


def test_close_gives_up_on_the_in_flight_record_after_the_timeout() -> None:
    release = threading.Event()
    dispatcher, _ = _dispatcher(lambda r: release.wait(5))
    dispatcher.open_partition(TP, 0, frozenset())
    dispatcher.submit(_record(0))
    time.sleep(0.05)
    started = time.monotonic()
    assert dispatcher.close_partition(TP, 0.1) == CommitPoint(0)
    assert time.monotonic() - started < 1.0
    release.set()


def test_offsets_a_predecessor_completed_are_skipped_and_carried_in_the_point() -> None:
    seen: list[int] = []
    dispatcher, _ = _dispatcher(lambda r: seen.append(r.offset))
    dispatcher.open_partition(TP, 0, frozenset({1, 5}))
    dispatcher.submit(_record(0))
    dispatcher.submit(_record(1))
    _wait(lambda: dispatcher.commit_point(TP) is not None and seen == [0])
    time.sleep(0.05)
    assert seen == [0]
    dispatcher.submit(_record(2))
    _wait(lambda: seen == [0, 2])
    _wait(lambda: dispatcher.close_partition(TP, 1) == CommitPoint(3, (5,)))


def test_wants_more_is_false_at_the_queue_bound() -> None:
    from turnout.agent.sequential import MAX_QUEUED_PER_PARTITION

    dispatcher, _ = _dispatcher(lambda r: None, lambda r: False)
    dispatcher.open_partition(TP, 0, frozenset())
    for offset in range(MAX_QUEUED_PER_PARTITION):
        dispatcher.submit(_record(offset))
    assert not dispatcher.wants_more(TP)
    assert not dispatcher.wants_more(("t", 9))  # not open
    dispatcher.close(1)
