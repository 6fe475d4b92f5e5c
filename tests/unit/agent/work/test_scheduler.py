"""The scheduler: ordering lanes, runs handed to workers, waking them; driven directly
(``Core``, no threads) and through a manager with real worker threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest
from confluent_kafka import Message

from tests.unit.agent.work.support import (
    FAST,
    TOPIC,
    TP0,
    TP1,
    WAIT_S,
    Core,
    build,
    fetched_run,
    fetching,
    record,
    settle,
    wait_until,
)
from turnout.agent import records as records_module
from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record, RecordRun, offsets_of
from turnout.agent.work import (
    FailedDecision,
    Ordering,
    PermanentFailure,
    WorkConfig,
    WorkManager,
)
from turnout.agent.work.lanes import Retry, Run
from turnout.agent.work.worker_contract import Ending

# ---- the scheduler on its own: runs taken by hand, no threads ---------------------------


def test_an_exclusive_lane_hands_out_one_run_at_a_time_in_offset_order() -> None:
    core = Core(WorkConfig(run_size=3))
    part = core.open()
    core.submit(part, range(5))
    run = core.take()
    assert run is not None and [r.offset for r in run.records] == [0, 1, 2]
    assert core.take() is None  # the partition's lane is taken
    core.settle(run, Ending.COMPLETED, 3)
    assert core.take_offsets() == [3, 4]


def test_key_mode_hands_out_each_keys_records_in_order_and_keys_at_once() -> None:
    core = Core(WorkConfig(ordering=Ordering.KEY))
    part = core.open()
    for offset in range(4):
        core.submit(part, range(offset, offset + 1), key=b"ab"[offset % 2 : offset % 2 + 1])
    first, second = core.take(), core.take()
    assert first is not None and second is not None
    assert [r.offset for r in first.records] == [0, 2]  # key a, joined into one run
    assert [r.offset for r in second.records] == [1, 3]  # key b, at the same time
    assert core.take() is None
    core.submit(part, range(4, 5), key=b"a")
    assert core.take() is None  # key a's lane is still taken
    core.settle(first, Ending.COMPLETED, 2)
    assert core.take_offsets() == [4]


def test_an_unordered_lane_hands_one_record_to_each_taker() -> None:
    core = Core(WorkConfig(ordering=Ordering.UNORDERED))
    part = core.open()
    core.submit(part, range(3))
    assert [core.take_offsets() for _ in range(4)] == [[0], [1], [2], None]


def park_for_a_retry(core: Core, run: Run, wait_s: float) -> None:
    """What settling a failed run does: park its lane until the retry is due."""
    with core.lock:
        core.scheduler.park(run.lane, Retry(run.records, run.attempts + 1, core.clock() + wait_s))
        core.scheduler.end_turn(run.lane)


def test_a_parked_lane_is_handed_out_again_only_once_its_wait_is_due() -> None:
    core = Core()
    part = core.open()
    core.submit(part, range(2))
    run = core.take()
    assert run is not None
    park_for_a_retry(core, run, 1.0)
    assert core.take() is None
    core.tick(0.9)
    assert core.take() is None
    core.tick(0.1)
    again = core.take()
    assert again is not None and again.attempts == 1
    assert [r.offset for r in again.records] == [0, 1]


def test_dropping_a_partitions_queue_retires_its_queued_and_waiting_records() -> None:
    core = Core(WorkConfig(run_size=2))
    part = core.open()
    core.submit(part, range(6))
    run = core.take()
    assert run is not None
    park_for_a_retry(core, run, 1.0)
    assert core.flow.in_flight == 6
    with core.lock:
        core.scheduler.drop_queued(part)
    assert core.flow.in_flight == 0
    core.tick(1.0)
    assert core.take() is None


def test_refetched_records_are_retired_and_a_predecessors_offsets_complete_unrun() -> None:
    core = Core()
    tp = (TOPIC, 0)
    part = core.parts[tp] = core.scheduler.new_partition(tp, 0, frozenset({1, 3}))
    core.submit(part, range(5))
    assert core.take_offsets() == [0, 2, 4]
    core.submit(part, range(3, 5))  # fetched again: not past the frontier
    assert core.take() is None
    assert core.flow.in_flight == 3
    assert core.point(part) == CommitPoint(0, (1, 3))


def test_nothing_is_handed_out_once_the_manager_halted() -> None:
    core = Core()
    part = core.open()
    core.submit(part, range(3))
    core.lifecycle.halt("stop")
    assert core.take() is None


def test_submit_wakes_an_idle_coroutine_worker_and_a_waiting_one_sees_the_inbox() -> None:
    core = Core()
    part = core.open()
    loop = asyncio.new_event_loop()
    try:
        with core.lock:
            waiter = core.scheduler.wait_as_task(loop)
        assert waiter is not None and not waiter.done()
        core.submit(part, range(1))
        loop.run_until_complete(asyncio.wait_for(waiter, WAIT_S))
        with core.lock:
            assert core.scheduler.wait_as_task(loop) is None  # the run is in the inbox
    finally:
        loop.close()


def test_taking_cuts_and_joins_queued_runs_as_views_of_the_fetched_messages() -> None:
    core = Core(WorkConfig(ordering=Ordering.PARTITION, run_size=4))
    part = core.open()
    for run in (fetched_run([0, 1, 2]), fetched_run([3, 4, 5, 6, 7, 8]), fetched_run([10])):
        core.scheduler.submit(part, run)
    offsets = []
    while (run := core.take()) is not None:
        assert type(run.records) is RecordRun
        offsets.append(offsets_of(run.records))
        core.settle(run, Ending.COMPLETED, len(run.records))
    assert offsets == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 10]]


# ---- with worker threads -------------------------------------------------------------


def test_partition_mode_runs_one_record_of_a_partition_at_a_time_in_offset_order(
    managers: list[WorkManager],
) -> None:
    seen: dict[int, list[int]] = {0: [], 1: []}
    running = {0: 0, 1: 0}
    overlap: list[int] = []
    lock = threading.Lock()

    def handler(rec: Record) -> None:
        with lock:
            running[rec.partition] += 1
            if running[rec.partition] > 1:
                overlap.append(rec.offset)
        time.sleep(0.0005)
        with lock:
            running[rec.partition] -= 1
            seen[rec.partition].append(rec.offset)

    manager = build(managers, handler, workers=8, run_size=3)
    for tp in (TP0, TP1):
        manager.open_partition(tp, 0, frozenset())
    for offset in range(200):
        manager.submit(record(offset, partition=0))
        manager.submit(record(offset, partition=1))
    settle(manager, TP0, 200)
    settle(manager, TP1, 200)
    assert overlap == []
    assert seen[0] == list(range(200))
    assert seen[1] == list(range(200))


def test_key_mode_runs_different_keys_concurrently(managers: list[WorkManager]) -> None:
    barrier = threading.Barrier(4, timeout=5.0)

    def handler(rec: Record) -> None:
        if rec.offset < 4:
            barrier.wait()  # only passes if four keys run at the same time

    manager = build(managers, handler, ordering=Ordering.KEY, workers=4)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(8):
        manager.submit(record(offset, key=b"k%d" % (offset % 4)))
    settle(manager, TP0, 8)


def test_a_retry_in_partition_mode_blocks_only_its_own_partition(
    managers: list[WorkManager],
) -> None:
    attempts: dict[int, int] = {}
    done: list[tuple[int, int]] = []

    def handler(rec: Record) -> None:
        key = rec.partition * 1000 + rec.offset
        attempts[key] = attempts.get(key, 0) + 1
        if rec.partition == 0 and rec.offset == 0 and attempts[key] < 3:
            raise RuntimeError("flaky")
        done.append((rec.partition, rec.offset))

    manager = build(managers, handler, workers=2, backoff=0.3, backoff_max=0.3)
    manager.open_partition(TP0, 0, frozenset())
    manager.open_partition(TP1, 0, frozenset())
    for offset in range(5):
        manager.submit(record(offset, partition=0))
        manager.submit(record(offset, partition=1))
    # Partition 1 finishes while partition 0 waits on its retry backoff...
    settle(manager, TP1, 5)
    assert [d for d in done if d[0] == 0] == []
    # ...then partition 0 goes on, in order.
    settle(manager, TP0, 5)
    assert [o for p, o in done if p == 0] == [0, 1, 2, 3, 4]
    assert attempts[0] == 3


def test_a_retry_in_key_mode_blocks_only_its_own_key(managers: list[WorkManager]) -> None:
    attempts: dict[int, int] = {}
    done: list[int] = []

    def handler(rec: Record) -> None:
        attempts[rec.offset] = attempts.get(rec.offset, 0) + 1
        if rec.offset == 0 and attempts[0] < 2:
            raise RuntimeError("flaky")
        done.append(rec.offset)

    manager = build(
        managers, handler, ordering=Ordering.KEY, workers=2, backoff=0.5, backoff_max=0.5
    )
    manager.open_partition(TP0, 0, frozenset())
    # Offsets 0, 2, 4 have key a; 1, 3, 5 key b.
    for offset in range(6):
        manager.submit(record(offset, key=b"a" if offset % 2 == 0 else b"b"))
    wait_until(lambda: sorted(done) == [1, 3, 5], "key b to finish while key a waits")
    assert attempts[0] == 1
    settle(manager, TP0, 6)
    assert [o for o in done if o % 2 == 0] == [0, 2, 4]


def test_unordered_failure_blocks_nothing_else(managers: list[WorkManager]) -> None:
    done: list[int] = []

    def handler(rec: Record) -> None:
        if rec.offset == 0:
            raise PermanentFailure("bad record")
        done.append(rec.offset)

    manager = build(
        managers,
        handler,
        ordering=Ordering.UNORDERED,
        workers=2,
        on_failure=lambda f: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(50):
        manager.submit(record(offset))
    wait_until(lambda: len(done) == 49, "49 records")
    point = settle(manager, TP0, 0)
    assert point.done_beyond == tuple(range(1, 50))


def test_skipped_offsets_complete_without_the_handler(managers: list[WorkManager]) -> None:
    seen: list[int] = []
    manager = build(managers, lambda rec: seen.append(rec.offset))
    manager.open_partition(TP0, 10, frozenset({11, 13, 14}))
    for offset in range(10, 16):
        manager.submit(record(offset))
    settle(manager, TP0, 16)
    assert seen == [10, 12, 15]


class _SlowKeyRecord(Record):
    """Reading the key takes a while: routing (which reads keys in ``key`` mode) then
    holds the manager's lock long enough for a run to be submitted meanwhile."""

    __slots__ = ()

    @property
    def key(self) -> bytes | None:
        time.sleep(0.2)
        return b"slow"


def test_a_run_submitted_after_a_wake_that_found_nothing_to_route_still_wakes_a_worker(
    managers: list[WorkManager],
) -> None:
    # Only submit_run wakes workers here (nothing else routes the inbox). The race: a run
    # is appended while a worker is routing (so that worker routes it too), and the
    # submitter then wakes a second worker, which finds the inbox empty. The "a worker
    # is woken" flag must not stay set by that, or the next run is never routed.
    done: list[int] = []
    manager = build(managers, lambda rec: done.append(rec.offset), workers=2, ordering="key")
    manager.open_partition(TP0, 0, frozenset())
    slow = _SlowKeyRecord(TOPIC, 0, 0, None, b"v0", (), 0, 1)
    manager.submit_run(TP0, [slow])
    time.sleep(0.05)  # a worker is routing ``slow``, holding the lock
    manager.submit_run(TP0, [record(1, key=b"a")])  # waits for the lock, then wakes
    wait_until(lambda: sorted(done) == [0, 1], "the first two records")
    time.sleep(0.05)  # both workers idle again
    manager.submit_run(TP0, [record(2, key=b"b")])
    wait_until(lambda: sorted(done) == [0, 1, 2], "the record submitted last", timeout_s=2.0)


def test_a_batch_handler_gets_fetched_runs_cut_and_joined_to_the_batch_size_unbuilt(
    managers: list[WorkManager], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real = records_module.records_from_messages

    def counting(messages: list[Message], *args: object) -> list[Record]:
        built.append(len(messages))
        return real(messages, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(records_module, "records_from_messages", counting)
    batches: list[list[int]] = []

    def batch_handler(records: Sequence[Record]) -> None:
        assert isinstance(records, RecordRun)
        batches.append(records.offsets)  # reads no record

    gate = threading.Event()
    manager = WorkManager(
        WorkConfig(**FAST, batch_size=4), batch_handler=batch_handler, gate=lambda tp: gate.is_set()
    )
    managers.append(manager)
    manager.open_partition(TP0, 0, frozenset())
    # Queued while the gate is shut, so the lane holds all three runs when work starts.
    manager.submit_run(TP0, fetched_run([0, 1, 2]))
    manager.submit_run(TP0, fetched_run([3, 4, 5, 6, 7, 8]))
    manager.submit_run(TP0, fetched_run([10]))  # 9 is absent from the log (compacted)
    gate.set()
    settle(manager, TP0, 11)
    assert batches[-3:] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 10]]
    assert built == []


def test_in_fetching_mode_the_worker_that_fetched_a_fast_run_runs_it_itself(
    managers: list[WorkManager],
) -> None:
    ran_on: list[threading.Thread] = []
    manager = build(managers, lambda r: ran_on.append(threading.current_thread()), workers=4)
    manager.open_partition(TP0, 0, frozenset())
    fetchers = fetching(manager, [fetched_run(list(range(i, i + 100))) for i in (0, 100, 200)])
    settle(manager, TP0, 300)
    assert len(set(ran_on)) == 1  # no hand-over to another thread per poll
    assert ran_on[0] in fetchers
