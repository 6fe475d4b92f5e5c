"""The supervisor: the watchdog, gate rechecks of busy workers, progress inside long runs
and calls for help, through a manager with real worker threads."""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry

from tests.unit.agent.work.support import (
    TOPIC,
    TP0,
    WAIT_S,
    build,
    fetched_run,
    fetching,
    record,
    settle,
    wait_until,
)
from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record
from turnout.agent.work import (
    AttemptTimedOut,
    FailedDecision,
    Failure,
    Ordering,
    WorkManager,
)


def test_a_thread_attempt_past_the_timeout_fails_and_its_late_result_is_discarded(
    managers: list[WorkManager],
) -> None:
    attempts: list[int] = []
    late = threading.Event()
    failures: list[Failure] = []

    def handler(rec: Record) -> None:
        attempts.append(rec.offset)
        if rec.offset == 0 and len(attempts) == 1:
            time.sleep(0.5)  # the first attempt hangs past the timeout
            late.set()

    def on_failure(failure: Failure) -> FailedDecision:
        failures.append(failure)
        return FailedDecision.DO_NOT_COMMIT_AND_CONTINUE

    registry = CollectorRegistry()
    manager = build(
        managers, handler, workers=2, task_timeout=0.1, registry=registry, on_failure=on_failure
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    manager.submit(record(1))
    # The retry runs on the other worker while the first thread is still stuck.
    settle(manager, TP0, 2)
    assert attempts[:2] == [0, 0]
    assert failures == []
    assert registry.get_sample_value("turnout_work_failed_attempts_total", {"topic": TOPIC}) == 1
    assert late.wait(5.0)
    wait_until(
        lambda: registry.get_sample_value("turnout_work_late_results_total") == 1.0,
        "the late result to be discarded",
    )


def test_timed_out_attempts_count_as_failures_until_attempts_are_used_up(
    managers: list[WorkManager],
) -> None:
    failures: list[Failure] = []

    def on_failure(failure: Failure) -> FailedDecision:
        failures.append(failure)
        return FailedDecision.COMMIT_AND_CONTINUE

    manager = build(
        managers,
        lambda rec: time.sleep(0.3),
        workers=3,
        max_retries=1,
        task_timeout=0.05,
        on_failure=on_failure,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    settle(manager, TP0, 1)
    assert isinstance(failures[0].error, AttemptTimedOut) and failures[0].attempts == 2


def test_no_record_starts_while_the_gate_is_shut_even_in_the_middle_of_a_chunk(
    managers: list[WorkManager],
) -> None:
    gate_open = threading.Event()
    gate_open.set()
    reopened: list[float] = []
    started: list[tuple[int, float]] = []

    def handler(rec: Record) -> None:
        started.append((rec.offset, time.monotonic()))
        if rec.offset == 500:
            gate_open.clear()  # fenced while this record runs...
            time.sleep(0.2)  # ...and the records after it are in the same chunk

    manager = build(managers, handler, gate=lambda tp: gate_open.is_set())
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, fetched_run(list(range(1000))))
    wait_until(lambda: any(o == 500 for o, _ in started), "record 500 to start")
    time.sleep(0.5)
    reopened.append(time.monotonic())
    gate_open.set()
    settle(manager, TP0, 1000)
    after = [t for o, t in started if o > 500]
    assert min(after) >= reopened[0]


def test_in_fetching_mode_a_stuck_worker_gets_help_for_the_rest(
    managers: list[WorkManager],
) -> None:
    never = threading.Event()

    def handler(rec: Record) -> None:
        if rec.offset in (3, 7):
            never.wait()

    manager = build(managers, handler, ordering=Ordering.UNORDERED, workers=4)
    manager.open_partition(TP0, 0, frozenset())
    fetching(manager, [fetched_run(list(range(10)))])
    latest: list[CommitPoint] = []

    def finished_around_the_stuck_ones() -> bool:
        point = manager.commit_point(TP0)
        if point is not None:
            latest.append(point)
        return bool(latest) and latest[-1] == CommitPoint(3, (4, 5, 6, 8, 9))

    try:
        # Within the supervisor's beats, not after its long rest (1 s) or a task timeout.
        wait_until(finished_around_the_stuck_ones, "help for the rest", timeout_s=0.5)
    finally:
        never.set()


def test_records_before_a_stuck_one_are_committed_while_its_run_goes_on(
    managers: list[WorkManager],
) -> None:
    unblock = threading.Event()

    def handler(rec: Record) -> None:
        if rec.offset == 5:
            unblock.wait(WAIT_S)

    manager = build(managers, handler)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, fetched_run(list(range(10))))  # one run: the stuck record's
    try:
        assert settle(manager, TP0, 5) == CommitPoint(5)
        assert manager.in_flight == 5
    finally:
        unblock.set()
    settle(manager, TP0, 10)
