"""Thread workers: a run's per-record path (``ThreadWorker.handle``) driven directly, and
through a manager with real worker threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tests.unit.agent.work.support import (
    TOPIC,
    TP0,
    TP1,
    WAIT_S,
    Core,
    build,
    fetched_run,
    settle,
)
from turnout.agent.records import Record, offsets_of
from turnout.agent.work import WorkManager
from turnout.agent.work.thread_worker import RUN_SLICE_S, ThreadWorker
from turnout.agent.work.worker_contract import Ending, RunOutcome
from turnout.protocol.partitions import PartitionId

# ---- one worker's pass over a run, driven on the test's thread ---------------------------


def pass_over(
    core: Core,
    handler: Callable[[Any], object],
    *,
    count: int = 5,
    per_batch: bool = False,
    gate: Callable[[PartitionId], bool] | None = None,
) -> RunOutcome | None:
    """Take a run of ``count`` fetched records and let a ``ThreadWorker`` handle it."""
    part = core.open()
    core.scheduler.submit(part, fetched_run(list(range(count))))
    run = core.take()
    assert run is not None
    worker = ThreadWorker()
    outcome = worker.handle(
        run, handler, per_batch=per_batch, gate=gate, clock=core.clock,
        halted=core.lifecycle.is_halted,
    )  # fmt: skip
    return outcome


def test_a_run_whose_records_all_succeed_is_completed() -> None:
    seen: list[int] = []
    outcome = pass_over(Core(), lambda r: seen.append(r.offset))
    assert outcome == RunOutcome(Ending.COMPLETED, 5)
    assert seen == [0, 1, 2, 3, 4]


def test_a_raising_handler_fails_the_run_at_that_record_and_starts_no_later_one() -> None:
    seen: list[int] = []
    error = RuntimeError("broken")

    def handler(record: Record) -> None:
        seen.append(record.offset)
        if record.offset == 2:
            raise error

    outcome = pass_over(Core(), handler)
    assert outcome == RunOutcome(Ending.FAILED, 2, error)
    assert seen == [0, 1, 2]


def test_a_shut_gate_defers_the_run_before_its_first_record() -> None:
    seen: list[int] = []
    outcome = pass_over(Core(), lambda r: seen.append(r.offset), gate=lambda tp: False)
    assert outcome == RunOutcome(Ending.DEFERRED, 0)
    assert seen == []


def test_a_closing_partition_stops_the_run_before_its_next_chunk() -> None:
    core = Core()
    seen: list[int] = []

    def handler(record: Record) -> None:
        seen.append(record.offset)
        if record.offset == 0:
            with core.lock:
                core.scheduler.drop_queued(core.parts[(TOPIC, 0)])  # the partition closes

    outcome = pass_over(core, handler)
    assert outcome == RunOutcome(Ending.STOPPED, 1)
    assert seen == [0]


def test_a_halt_stops_the_run_before_its_next_chunk() -> None:
    core = Core()
    seen: list[int] = []

    def handler(record: Record) -> None:
        seen.append(record.offset)
        core.lifecycle.halt("stop")

    outcome = pass_over(core, handler)
    assert outcome == RunOutcome(Ending.STOPPED, 1)
    assert seen == [0]


def test_a_run_past_its_time_slice_yields_the_rest() -> None:
    core = Core()
    seen: list[int] = []

    def handler(record: Record) -> None:
        seen.append(record.offset)
        core.clock.advance(2 * RUN_SLICE_S)  # each record takes longer than the slice

    outcome = pass_over(core, handler)
    assert outcome == RunOutcome(Ending.YIELDED, 1)
    assert seen == [0]


def test_a_batch_handler_gets_the_run_whole_and_a_failure_fails_all_of_it() -> None:
    batches: list[list[int]] = []

    def handler(records: Sequence[Record]) -> None:
        batches.append(offsets_of(records))
        raise RuntimeError("sink down")

    outcome = pass_over(Core(per_batch=True), handler, per_batch=True)
    assert outcome is not None and outcome.ending is Ending.FAILED and outcome.ok == 0
    assert batches == [[0, 1, 2, 3, 4]]
    outcome = pass_over(Core(per_batch=True), lambda records: None, per_batch=True)
    assert outcome == RunOutcome(Ending.COMPLETED, 5)


def test_the_watchdog_takes_over_a_stuck_attempt_and_no_later_record_starts() -> None:
    core = Core()
    part = core.open()
    core.scheduler.submit(part, fetched_run([0, 1, 2]))
    run = core.take()
    assert run is not None
    worker = ThreadWorker()
    stuck = threading.Event()
    unblock = threading.Event()
    seen: list[int] = []
    outcomes: list[RunOutcome | None] = []

    def handler(record: Record) -> None:
        seen.append(record.offset)
        if record.offset == 1:
            stuck.set()
            unblock.wait(WAIT_S)

    thread = threading.Thread(
        target=lambda: outcomes.append(
            worker.handle(
                run, handler, per_batch=False, gate=None, clock=core.clock,
                halted=core.lifecycle.is_halted,
            )
        )
    )  # fmt: skip
    thread.start()
    assert stuck.wait(WAIT_S)
    assert worker.position() == (run, 1)
    assert not worker.claim(run, 0)  # not the attempt started last: nothing claimed
    assert worker.claim(run, 1)
    assert worker.abandoned
    unblock.set()
    thread.join(WAIT_S)
    assert outcomes == [None]  # the watchdog settles the run, not the worker
    assert seen == [0, 1]
    assert not worker.abandoned and worker.position() is None


# ---- with worker threads -------------------------------------------------------------------


def test_a_per_message_handler_gets_every_record_of_fetched_runs_in_order(
    managers: list[WorkManager],
) -> None:
    seen: list[tuple[int, bytes | None]] = []
    manager = build(managers, lambda r: seen.append((r.offset, r.value)), run_size=2)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, fetched_run([0, 1, 2]))
    manager.submit_run(TP0, fetched_run([3, 4]))
    settle(manager, TP0, 5)
    assert seen == [(o, b"v%d" % o) for o in range(5)]


def test_records_a_handler_keeps_stay_as_they_were_when_it_got_them(
    managers: list[WorkManager],
) -> None:
    kept: list[Record] = []
    manager = build(managers, kept.append)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, fetched_run(list(range(300))))
    settle(manager, TP0, 300)
    assert [(r.offset, r.value) for r in kept] == [(o, b"v%d" % o) for o in range(300)]
    assert len({id(r) for r in kept}) == 300


def test_a_record_nothing_keeps_is_moved_on_to_the_next_message(
    managers: list[WorkManager],
) -> None:
    seen: list[tuple[int, int]] = []  # (id, offset): holds no reference to the record
    manager = build(managers, lambda r: seen.append((id(r), r.offset)))
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, fetched_run(list(range(300))))
    settle(manager, TP0, 300)
    assert [offset for _, offset in seen] == list(range(300))
    assert len({identity for identity, _ in seen}) < 10  # one per run, not one per record


def test_a_long_run_gives_other_partitions_a_turn(managers: list[WorkManager]) -> None:
    first_start: dict[int, float] = {}

    def handler(rec: Record) -> None:
        first_start.setdefault(rec.partition, time.monotonic())
        time.sleep(0.001)

    manager = build(managers, handler, workers=1)
    manager.open_partition(TP0, 0, frozenset())
    manager.open_partition(TP1, 0, frozenset())
    manager.submit_run(TP0, fetched_run(list(range(200)), partition=0))
    manager.submit_run(TP1, fetched_run(list(range(200)), partition=1))
    settle(manager, TP1, 200)
    # 200 records of 1 ms would keep partition 1 waiting >= 200 ms without time slices.
    assert first_start[1] - first_start[0] < 0.1
