"""The outcome contract: what each ``RunOutcome`` a worker (or the watchdog) reports does
to the commit point, the in-flight count and the lane. Driven by hand on the manager's
pieces (``Core``), the way every kind of worker drives them."""

from __future__ import annotations

import pytest

from tests.unit.agent.work.support import Core
from turnout.agent.dispatch import GATE_RECHECK_S, CommitPoint
from turnout.agent.work import (
    AttemptTimedOut,
    FailedDecision,
    Failure,
    Ordering,
    PermanentFailure,
    RecordFailed,
    WorkConfig,
)
from turnout.agent.work.lanes import PartitionWork, Run
from turnout.agent.work.worker_contract import Ending


def first_run(core: Core, count: int) -> tuple[PartitionWork, Run]:
    """Open a partition, submit ``count`` records and take the first run of them."""
    part = core.open()
    core.submit(part, range(count))
    run = core.take()
    assert run is not None
    return part, run


#: Retries due after exactly this long.
BACKOFF_S = 0.5
CONFIG = WorkConfig(run_size=5, backoff=BACKOFF_S, backoff_max=BACKOFF_S, backoff_jitter=0.0)


def test_a_completed_run_completes_its_records_and_leaves_nothing_in_flight() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    core.settle(run, Ending.COMPLETED, 5)
    assert core.point(part) == CommitPoint(5)
    assert core.flow.in_flight == 0 and part.processed == 5 and part.running == 0


def test_a_yielded_run_completes_what_ran_and_the_rest_is_the_lanes_next_run() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    core.settle(run, Ending.YIELDED, 2)
    assert core.point(part) == CommitPoint(2)
    assert core.flow.in_flight == 3
    assert core.take_offsets() == [2, 3, 4]


def test_a_deferred_run_waits_for_the_gate_recheck_with_the_rest_at_the_lanes_head() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    core.settle(run, Ending.DEFERRED, 1)
    assert core.point(part) == CommitPoint(1)
    assert core.take() is None
    core.tick(GATE_RECHECK_S)
    again = core.take()
    assert again is not None and again.attempts == 0
    assert [r.offset for r in again.records] == [1, 2, 3, 4]


def test_a_deferred_retry_keeps_its_attempt_count() -> None:
    core = Core(CONFIG)
    _part, run = first_run(core, 1)
    core.settle(run, Ending.FAILED, 0, RuntimeError("flaky"))
    core.tick(BACKOFF_S)
    retry = core.take()
    assert retry is not None and retry.attempts == 1
    core.settle(retry, Ending.DEFERRED, 0)
    core.tick(GATE_RECHECK_S)
    again = core.take()
    assert again is not None and again.attempts == 1


def test_a_failed_attempt_is_retried_after_its_backoff_and_its_lane_waits_behind_it() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    core.settle(run, Ending.FAILED, 1, RuntimeError("flaky"))
    assert core.point(part) == CommitPoint(1)
    assert core.take() is None  # the partition's lane waits for the retry
    core.tick(BACKOFF_S - 0.01)
    assert core.take() is None
    core.tick(0.01)
    retry = core.take()
    assert retry is not None and retry.attempts == 1
    assert [r.offset for r in retry.records] == [1]
    core.settle(retry, Ending.COMPLETED, 1)
    assert core.take_offsets() == [2, 3, 4]


def test_a_failed_record_of_a_shared_lane_waits_alone() -> None:
    core = Core(CONFIG.model_copy(update={"ordering": Ordering.UNORDERED}))
    _part, run = first_run(core, 3)
    core.settle(run, Ending.FAILED, 0, RuntimeError("flaky"))
    assert core.take_offsets() == [1]
    assert core.take_offsets() == [2]
    core.tick(BACKOFF_S)
    retry = core.take()
    assert retry is not None and retry.attempts == 1
    assert [r.offset for r in retry.records] == [0]


@pytest.mark.parametrize(
    ("decision", "point"),
    [
        (FailedDecision.COMMIT_AND_CONTINUE, CommitPoint(3)),
        (FailedDecision.DO_NOT_COMMIT_AND_CONTINUE, CommitPoint(1, (2,))),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_an_exhausted_record_gets_the_failure_decision_and_the_lane_goes_on(
    decision: FailedDecision, point: CommitPoint
) -> None:
    decided: list[Failure] = []

    def on_failure(failure: Failure) -> FailedDecision:
        decided.append(failure)
        return decision

    core = Core(CONFIG.model_copy(update={"max_retries": 0}), on_failure=on_failure)
    part, run = first_run(core, 3)
    core.settle(run, Ending.FAILED, 1, PermanentFailure("poison"))
    assert [(f.record.offset, f.attempts, f.permanent) for f in decided] == [(1, 1, True)]
    rest = core.take()
    assert rest is not None and [r.offset for r in rest.records] == [2]
    core.settle(rest, Ending.COMPLETED, 1)
    assert core.point(part) == point
    assert core.flow.in_flight == 0
    assert core.lifecycle.stop_reason is None


def test_a_stop_decision_halts_and_nothing_more_is_handed_out() -> None:
    core = Core(
        CONFIG.model_copy(update={"max_retries": 0}),
        on_failure=lambda failure: FailedDecision.DO_NOT_COMMIT_AND_STOP,
    )
    part, run = first_run(core, 3)
    core.settle(run, Ending.FAILED, 0, RuntimeError("broken"))
    assert core.lifecycle.halted
    assert "DO_NOT_COMMIT_AND_STOP" in (core.lifecycle.stop_reason or "")
    assert core.take() is None
    assert core.point(part) == CommitPoint(0)


def test_a_failed_batch_is_retried_whole_and_then_each_record_is_decided() -> None:
    decided: list[int] = []

    def on_failure(failure: Failure) -> FailedDecision:
        decided.append(failure.record.offset)
        return FailedDecision.COMMIT_AND_CONTINUE

    core = Core(
        CONFIG.model_copy(update={"max_retries": 1, "batch_size": 3}),
        per_batch=True,
        on_failure=on_failure,
    )
    part, run = first_run(core, 3)
    core.settle(run, Ending.FAILED, 0, RuntimeError("sink down"))
    core.tick(BACKOFF_S)
    retry = core.take()
    assert retry is not None and [r.offset for r in retry.records] == [0, 1, 2]
    core.settle(retry, Ending.FAILED, 0, RuntimeError("sink down"))
    assert decided == [0, 1, 2]
    assert core.point(part) == CommitPoint(3)


def test_a_stopped_run_drops_its_unstarted_records_uncompleted() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    with core.lock:
        core.scheduler.drop_queued(part)  # the partition is closing
    core.settle(run, Ending.STOPPED, 2)
    assert core.point(part) == CommitPoint(2)
    assert core.flow.in_flight == 0 and part.running == 0


def test_a_run_of_a_halted_manager_that_yielded_is_settled_as_stopped() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    core.lifecycle.halt("stopping")
    core.settle(run, Ending.YIELDED, 2)
    assert core.point(part) == CommitPoint(2)
    assert core.flow.in_flight == 0


def test_a_run_of_a_partition_closed_meanwhile_completes_nothing() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    with core.lock:
        core.scheduler.drop_queued(part)
        part.closed = True
    core.settle(run, Ending.COMPLETED, 5)
    assert core.point(part) == CommitPoint(0)
    assert core.flow.in_flight == 0


def test_records_the_supervisor_reported_mid_run_are_not_counted_again() -> None:
    core = Core(CONFIG)
    part, run = first_run(core, 5)
    with core.lock:
        core.settlement.report_progress(run, 3, core.clock())
    assert core.point(part) == CommitPoint(3)
    assert core.flow.in_flight == 2
    core.settle(run, Ending.COMPLETED, 5)
    assert core.point(part) == CommitPoint(5)
    assert part.processed == 5 and part.running == 0 and core.flow.in_flight == 0


def test_the_watchdogs_timed_out_attempt_is_settled_like_any_failure() -> None:
    core = Core(CONFIG)
    _part, run = first_run(core, 3)
    core.settle(run, Ending.FAILED, 1, AttemptTimedOut("no result within 60 s"))
    core.tick(BACKOFF_S)
    retry = core.take()
    assert retry is not None and retry.attempts == 1
    assert [r.offset for r in retry.records] == [1]


def test_a_batch_failure_at_one_record_completes_those_before_it_and_retries_it_alone() -> None:
    core = Core(CONFIG, per_batch=True)
    part, run = first_run(core, 5)
    core.settle(run, Ending.FAILED, 0, RecordFailed(2, RuntimeError("flaky")))
    assert core.point(part) == CommitPoint(2)
    assert core.take() is None  # the lane waits behind the failed record's retry
    core.tick(BACKOFF_S)
    retry = core.take()
    assert retry is not None and retry.attempts == 1
    assert [r.offset for r in retry.records] == [2]
    core.settle(retry, Ending.COMPLETED, 1)
    assert core.take_offsets() == [3, 4]


def test_a_batch_record_failure_is_decided_for_that_record_with_its_own_error() -> None:
    decided: list[Failure] = []

    def on_failure(failure: Failure) -> FailedDecision:
        decided.append(failure)
        return FailedDecision.COMMIT_AND_CONTINUE

    core = Core(CONFIG.model_copy(update={"max_retries": 0}), per_batch=True, on_failure=on_failure)
    part, run = first_run(core, 4)
    core.settle(run, Ending.FAILED, 0, RecordFailed(1, PermanentFailure("poison")))
    assert [(f.record.offset, type(f.error), f.permanent) for f in decided] == [
        (1, PermanentFailure, True)
    ]
    assert core.take_offsets() == [2, 3]
    assert core.point(part) == CommitPoint(2)
