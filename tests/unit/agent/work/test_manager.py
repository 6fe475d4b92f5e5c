"""The work manager with real worker threads (and an event loop) on synthetic records."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from tests.unit.agent.work.support import TOPIC, record, settle, wait_until
from turnout.agent import records as records_module
from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record, RecordRun
from turnout.agent.work import (
    AttemptTimedOut,
    Escalation,
    EscalationAction,
    FailedDecision,
    Failure,
    Ordering,
    PermanentFailure,
    WorkConfig,
    WorkManager,
)
from turnout.agent.work.dead_letters import Delivered

TP0 = (TOPIC, 0)
TP1 = (TOPIC, 1)
FAST = {"backoff": 0.005, "backoff_jitter": 0.0, "backoff_max": 0.02}


@pytest.fixture
def managers() -> Iterator[list[WorkManager]]:
    made: list[WorkManager] = []
    yield made
    for manager in made:
        manager.close(5.0)


def build(managers: list[WorkManager], handler: object = None, **kwargs: object) -> WorkManager:
    config_fields = {k: v for k, v in kwargs.items() if k in WorkConfig.model_fields}
    extra = {k: v for k, v in kwargs.items() if k not in WorkConfig.model_fields}
    manager = WorkManager(WorkConfig(**{**FAST, **config_fields}), handler=handler, **extra)  # type: ignore[arg-type]
    managers.append(manager)
    return manager


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


def test_retries_use_up_max_retries_then_the_decision_callback_sees_the_attempts(
    managers: list[WorkManager],
) -> None:
    calls: list[int] = []
    failures: list[Failure] = []

    def handler(rec: Record) -> None:
        calls.append(rec.offset)
        raise ValueError(f"broken {rec.offset}")

    def on_failure(failure: Failure) -> FailedDecision:
        failures.append(failure)
        return FailedDecision.COMMIT_AND_CONTINUE

    manager = build(managers, handler, max_retries=2, on_failure=on_failure)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    settle(manager, TP0, 1)
    assert calls == [0, 0, 0]
    assert len(failures) == 1
    assert failures[0].attempts == 3 and not failures[0].permanent
    assert isinstance(failures[0].error, ValueError)


def test_a_permanent_failure_skips_the_remaining_retries(managers: list[WorkManager]) -> None:
    calls: list[int] = []
    failures: list[Failure] = []

    def handler(rec: Record) -> None:
        calls.append(rec.offset)
        raise PermanentFailure("cannot parse")

    def on_failure(failure: Failure) -> FailedDecision:
        failures.append(failure)
        return FailedDecision.COMMIT_AND_CONTINUE

    manager = build(managers, handler, max_retries=5, on_failure=on_failure)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    settle(manager, TP0, 1)
    assert calls == [0]
    assert failures[0].permanent and failures[0].attempts == 1


def fail_offset_2(rec: Record) -> None:
    if rec.offset == 2:
        raise PermanentFailure("poison")


@pytest.mark.parametrize("ordering", list(Ordering))
def test_commit_and_continue_commits_past_the_failed_record(
    managers: list[WorkManager], ordering: Ordering
) -> None:
    manager = build(
        managers,
        fail_offset_2,
        ordering=ordering,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset, key=b"k%d" % (offset % 3)))
    settle(manager, TP0, 10)
    assert manager.stop_reason() is None
    assert manager.wants_more(TP0)


@pytest.mark.parametrize("ordering", list(Ordering))
def test_do_not_commit_and_continue_holds_the_commit_point_whatever_succeeds_after_it(
    managers: list[WorkManager], ordering: Ordering
) -> None:
    done: list[int] = []

    def handler(rec: Record) -> None:
        fail_offset_2(rec)
        done.append(rec.offset)

    manager = build(
        managers,
        handler,
        ordering=ordering,
        on_failure=lambda f: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(100):
        manager.submit(record(offset, key=b"k%d" % (offset % 3)))
    wait_until(lambda: len(done) == 99, "every other record")
    point = manager.commit_point(TP0)
    assert point is not None and point.next_offset == 2
    assert point.done_beyond == tuple(range(3, 100))
    assert manager.stop_reason() is None
    # More successes later still do not move it.
    for offset in range(100, 150):
        manager.submit(record(offset, key=b"k%d" % (offset % 3)))
    wait_until(lambda: len(done) == 149, "later records")
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 2


def test_commit_and_stop_commits_the_record_and_stops(managers: list[WorkManager]) -> None:
    done: list[int] = []

    def handler(rec: Record) -> None:
        fail_offset_2(rec)
        done.append(rec.offset)

    manager = build(managers, handler, on_failure=lambda f: FailedDecision.COMMIT_AND_STOP)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    wait_until(lambda: manager.stop_reason() is not None, "a stop reason")
    assert "COMMIT_AND_STOP" in (manager.stop_reason() or "")
    assert not manager.wants_more(TP0)
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 3
    # Nothing after the failed record was started once the decision said stop.
    assert done == [0, 1]


def test_do_not_commit_and_stop_holds_the_record_and_stops(managers: list[WorkManager]) -> None:
    manager = build(
        managers, fail_offset_2, on_failure=lambda f: FailedDecision.DO_NOT_COMMIT_AND_STOP
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    wait_until(lambda: manager.stop_reason() is not None, "a stop reason")
    assert "DO_NOT_COMMIT_AND_STOP" in (manager.stop_reason() or "")
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 2 and final.done_beyond == ()


def test_the_default_without_dead_letters_holds_and_stops(managers: list[WorkManager]) -> None:
    manager = build(managers, fail_offset_2)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(4):
        manager.submit(record(offset))
    wait_until(lambda: manager.stop_reason() is not None, "a stop reason")
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 2


def test_escalation_fires_when_failures_pass_the_threshold_and_pause_opens_the_breaker(
    managers: list[WorkManager],
) -> None:
    escalations: list[Escalation] = []

    def on_escalation(escalation: Escalation) -> EscalationAction:
        escalations.append(escalation)
        return EscalationAction.PAUSE

    manager = build(
        managers,
        fail_offset_any,
        max_retries=0,
        retry_threshold=3,
        retry_window=60.0,
        breaker_cooldown=0.3,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
        on_escalation=on_escalation,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    manager.submit(record(1))
    settle(manager, TP0, 2)
    assert escalations == []
    assert manager.wants_more(TP0)
    manager.submit(record(2))
    wait_until(lambda: len(escalations) == 1, "an escalation")
    assert escalations[0].failures == 3 and escalations[0].last.record.offset == 2
    assert not manager.wants_more(TP0)
    # The breaker closes by itself after its cooldown.
    wait_until(lambda: manager.wants_more(TP0), "the breaker to close", timeout_s=3.0)
    assert manager.stop_reason() is None


def fail_offset_any(rec: Record) -> None:
    raise RuntimeError(f"fails {rec.offset}")


def test_escalation_can_stop_the_agent(managers: list[WorkManager]) -> None:
    manager = build(
        managers,
        fail_offset_any,
        max_retries=0,
        retry_threshold=2,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
        on_escalation=lambda e: EscalationAction.STOP,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    manager.submit(record(1))
    wait_until(lambda: manager.stop_reason() is not None, "a stop reason")
    assert "2 records exhausted" in (manager.stop_reason() or "")


def test_resume_closes_the_breaker_early(managers: list[WorkManager]) -> None:
    manager = build(
        managers,
        fail_offset_any,
        max_retries=0,
        retry_threshold=1,
        breaker_cooldown=600.0,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    wait_until(lambda: not manager.wants_more(TP0), "the breaker to open")
    manager.resume()
    assert manager.wants_more(TP0)


def test_back_pressure_bounds_in_flight_records_per_partition(managers: list[WorkManager]) -> None:
    gate = threading.Event()
    manager = build(
        managers,
        lambda rec: gate.wait(5.0),
        workers=2,
        max_in_flight_per_partition=5,
        max_in_flight=8,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.open_partition(TP1, 0, frozenset())
    submitted = 0
    while manager.wants_more(TP0):
        manager.submit(record(submitted))
        submitted += 1
    assert submitted == 5
    assert manager.wants_more(TP1)
    for offset in range(3):
        manager.submit(record(offset, partition=1))
    # Eight in flight overall: the global bound says "no room" (the loop stops polling);
    # TP1 is under its own bound, so it is not refused (its fetch is not paused).
    assert not manager.has_room()
    assert manager.wants_more(TP1)
    gate.set()
    settle(manager, TP0, 5)
    wait_until(lambda: manager.wants_more(TP0) and manager.has_room(), "room again")


def test_uncommitted_span_is_bounded_while_one_record_is_stuck(managers: list[WorkManager]) -> None:
    gate = threading.Event()

    def handler(rec: Record) -> None:
        if rec.offset == 0:
            gate.wait(5.0)

    manager = build(
        managers,
        handler,
        ordering=Ordering.UNORDERED,
        workers=4,
        max_in_flight_per_partition=10,
        max_uncommitted_per_partition=50,
    )
    manager.open_partition(TP0, 0, frozenset())
    offset = 0
    refused_since: float | None = None
    # Feed while the manager wants more; stop once it has refused for a quarter second.
    while refused_since is None or time.monotonic() - refused_since < 0.25:
        if manager.wants_more(TP0):
            manager.submit(record(offset))
            offset += 1
            refused_since = None
        else:
            refused_since = refused_since or time.monotonic()
            time.sleep(0.001)
        assert offset <= 50
    assert offset == 50
    gate.set()
    settle(manager, TP0, 50)


def test_skipped_offsets_complete_without_the_handler(managers: list[WorkManager]) -> None:
    seen: list[int] = []
    manager = build(managers, lambda rec: seen.append(rec.offset))
    manager.open_partition(TP0, 10, frozenset({11, 13, 14}))
    for offset in range(10, 16):
        manager.submit(record(offset))
    settle(manager, TP0, 16)
    assert seen == [10, 12, 15]


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
    manager = build(managers, lambda rec: release.wait(5.0))
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    wait_until(lambda: manager.in_flight == 1, "the record to start")
    time.sleep(0.05)
    begun = time.monotonic()
    final = manager.close_partition(TP0, 0.2)
    assert time.monotonic() - begun < 1.0
    assert final is not None and final.next_offset == 0
    release.set()
    wait_until(lambda: manager.in_flight == 0, "the late record to be accounted")


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


def test_coroutine_handlers_run_concurrently_on_the_managers_loop(
    managers: list[WorkManager],
) -> None:
    active = 0
    peak = 0

    async def handler(rec: Record) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1

    manager = build(managers, handler, ordering=Ordering.KEY, workers=16)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(64):
        manager.submit(record(offset, key=b"k%d" % offset))
    settle(manager, TP0, 64)
    assert peak >= 8


def test_coroutine_attempts_are_cancelled_at_the_timeout_and_retried(
    managers: list[WorkManager],
) -> None:
    attempts: list[int] = []
    cancelled: list[int] = []

    async def handler(rec: Record) -> None:
        attempts.append(rec.offset)
        if len(attempts) == 1:
            try:
                await asyncio.sleep(5.0)
            except asyncio.CancelledError:
                cancelled.append(rec.offset)
                raise

    manager = build(managers, handler, task_timeout=0.05)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    settle(manager, TP0, 1)
    assert attempts == [0, 0] and cancelled == [0]


def test_batch_handlers_get_consecutive_records_and_a_failed_batch_is_retried_whole(
    managers: list[WorkManager],
) -> None:
    batches: list[list[int]] = []
    failed_once: list[bool] = []

    def batch_handler(records: Sequence[Record]) -> None:
        offsets = [r.offset for r in records]
        batches.append(offsets)
        if 5 in offsets and not failed_once:
            failed_once.append(True)
            raise RuntimeError("batch failed")

    manager = WorkManager(WorkConfig(**FAST, batch_size=4), batch_handler=batch_handler)
    managers.append(manager)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(12):
        manager.submit(record(offset))
    settle(manager, TP0, 12)
    flat = [o for batch in batches for o in batch]
    assert all(len(b) <= 4 for b in batches)
    retried = next(b for b in batches if 5 in b)
    assert batches.count(retried) == 2
    assert sorted(set(flat)) == list(range(12))


def test_async_batch_handler(managers: list[WorkManager]) -> None:
    seen: list[int] = []

    async def batch_handler(records: Sequence[Record]) -> None:
        await asyncio.sleep(0)
        seen.extend(r.offset for r in records)

    manager = WorkManager(WorkConfig(**FAST, batch_size=3), batch_handler=batch_handler)
    managers.append(manager)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    settle(manager, TP0, 10)
    assert seen == list(range(10))


class FakeSink:
    """Dead-letter sink whose acknowledgements the test releases by hand."""

    def __init__(self) -> None:
        self.sent: list[tuple[Record, BaseException, int, Delivered]] = []

    def send(self, record: Record, error: BaseException, attempts: int, on_done: Delivered) -> None:
        self.sent.append((record, error, attempts, on_done))

    def close(self, timeout_s: float) -> None:
        pass


def test_a_dead_lettered_record_completes_only_when_the_dead_letter_is_acknowledged(
    managers: list[WorkManager],
) -> None:
    sink = FakeSink()
    manager = build(managers, fail_offset_2, dead_letters=sink, max_retries=1)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(5):
        manager.submit(record(offset))
    wait_until(lambda: len(sink.sent) == 1, "a dead letter")
    rec, error, attempts, on_done = sink.sent[0]
    assert rec.offset == 2 and attempts == 1 and isinstance(error, PermanentFailure)
    point = settle(manager, TP0, 2)
    assert point.done_beyond == (3, 4)
    on_done(None)
    settle(manager, TP0, 5)


def test_a_failed_dead_letter_holds_the_record_and_stops(managers: list[WorkManager]) -> None:
    sink = FakeSink()
    manager = build(managers, fail_offset_2, dead_letters=sink, max_retries=0)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(5):
        manager.submit(record(offset))
    wait_until(lambda: len(sink.sent) == 1, "a dead letter")
    sink.sent[0][3](RuntimeError("broker gone"))
    assert "broker gone" in (manager.stop_reason() or "")
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 2


def test_the_dead_letter_rate_guard_stops_before_draining_the_topic(
    managers: list[WorkManager],
) -> None:
    sink = FakeSink()
    manager = build(
        managers,
        fail_offset_any,
        dead_letters=sink,
        max_retries=0,
        dead_letter={"max_consecutive": 5, "max_ratio": 1.0, "min_samples": 1},
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(20):
        manager.submit(record(offset))
    wait_until(lambda: manager.stop_reason() is not None, "the guard to trip")
    assert "in a row" in (manager.stop_reason() or "")
    assert len(sink.sent) == 5
    for sent in sink.sent:
        sent[3](None)
    final = manager.close_partition(TP0, 5.0)
    assert final is not None and final.next_offset == 5


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


def test_a_partition_at_its_bound_is_refused_until_back_under_half_of_it(
    managers: list[WorkManager],
) -> None:
    gates = [threading.Event() for _ in range(10)]
    manager = build(
        managers, lambda rec: gates[rec.offset].wait(5.0), max_in_flight_per_partition=10
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    assert not manager.wants_more(TP0)
    for offset in range(4):
        gates[offset].set()
    wait_until(lambda: manager.in_flight == 6, "four records to finish")
    # Under the bound, but not yet under half of it: still refused (no pause/resume churn).
    assert not manager.wants_more(TP0)
    gates[4].set()
    wait_until(lambda: manager.in_flight == 5, "a fifth record to finish")
    assert manager.wants_more(TP0)
    for gate in gates:
        gate.set()


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


def _fetched_run(offsets: list[int], partition: int = 0) -> RecordRun:
    messages = [
        Message(topic=TOPIC, partition=partition, offset=o, value=b"v%d" % o) for o in offsets
    ]
    return RecordRun(messages, offsets, TOPIC, partition, 1)


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
    manager.submit_run(TP0, _fetched_run([0, 1, 2]))
    manager.submit_run(TP0, _fetched_run([3, 4, 5, 6, 7, 8]))
    manager.submit_run(TP0, _fetched_run([10]))  # 9 is absent from the log (compacted)
    gate.set()
    settle(manager, TP0, 11)
    assert batches[-3:] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 10]]
    assert built == []


def test_a_per_message_handler_gets_every_record_of_fetched_runs_in_order(
    managers: list[WorkManager],
) -> None:
    seen: list[tuple[int, bytes | None]] = []
    manager = build(managers, lambda r: seen.append((r.offset, r.value)), run_size=2)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, _fetched_run([0, 1, 2]))
    manager.submit_run(TP0, _fetched_run([3, 4]))
    settle(manager, TP0, 5)
    assert seen == [(o, b"v%d" % o) for o in range(5)]


def test_records_a_handler_keeps_stay_as_they_were_when_it_got_them(
    managers: list[WorkManager],
) -> None:
    kept: list[Record] = []
    manager = build(managers, kept.append)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, _fetched_run(list(range(300))))
    settle(manager, TP0, 300)
    assert [(r.offset, r.value) for r in kept] == [(o, b"v%d" % o) for o in range(300)]
    assert len({id(r) for r in kept}) == 300


def test_a_record_nothing_keeps_is_moved_on_to_the_next_message(
    managers: list[WorkManager],
) -> None:
    seen: list[tuple[int, int]] = []  # (id, offset): holds no reference to the record
    manager = build(managers, lambda r: seen.append((id(r), r.offset)))
    manager.open_partition(TP0, 0, frozenset())
    manager.submit_run(TP0, _fetched_run(list(range(300))))
    settle(manager, TP0, 300)
    assert [offset for _, offset in seen] == list(range(300))
    assert len({identity for identity, _ in seen}) < 10  # one per run, not one per record


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
    manager.submit_run(TP0, _fetched_run(list(range(1000))))
    wait_until(lambda: any(o == 500 for o, _ in started), "record 500 to start")
    time.sleep(0.5)
    reopened.append(time.monotonic())
    gate_open.set()
    settle(manager, TP0, 1000)
    after = [t for o, t in started if o > 500]
    assert min(after) >= reopened[0]


def test_a_long_run_gives_other_partitions_a_turn(managers: list[WorkManager]) -> None:
    first_start: dict[int, float] = {}

    def handler(rec: Record) -> None:
        first_start.setdefault(rec.partition, time.monotonic())
        time.sleep(0.001)

    manager = build(managers, handler, workers=1)
    manager.open_partition(TP0, 0, frozenset())
    manager.open_partition(TP1, 0, frozenset())
    manager.submit_run(TP0, _fetched_run(list(range(200)), partition=0))
    manager.submit_run(TP1, _fetched_run(list(range(200)), partition=1))
    settle(manager, TP1, 200)
    # 200 records of 1 ms would keep partition 1 waiting >= 200 ms without time slices.
    assert first_start[1] - first_start[0] < 0.1


def _fetching(
    manager: WorkManager, runs: list[RecordRun], tp: tuple[str, int] = TP0
) -> list[threading.Thread]:
    """Let the manager fetch ``runs`` one per call (then nothing), as the agent's data path
    would; returns the threads that fetched."""
    fetchers: list[threading.Thread] = []
    pending = list(runs)

    def fetch() -> bool:
        fetchers.append(threading.current_thread())
        if pending:
            manager.submit_run(tp, pending.pop(0))
            return True
        time.sleep(0.005)  # an empty poll
        return False

    assert manager.take_over_fetching(fetch)
    return fetchers


def test_in_fetching_mode_the_worker_that_fetched_a_fast_run_runs_it_itself(
    managers: list[WorkManager],
) -> None:
    ran_on: list[threading.Thread] = []
    manager = build(managers, lambda r: ran_on.append(threading.current_thread()), workers=4)
    manager.open_partition(TP0, 0, frozenset())
    fetchers = _fetching(manager, [_fetched_run(list(range(i, i + 100))) for i in (0, 100, 200)])
    settle(manager, TP0, 300)
    assert len(set(ran_on)) == 1  # no hand-over to another thread per poll
    assert ran_on[0] in fetchers


def test_in_fetching_mode_a_stuck_worker_gets_help_for_the_rest(
    managers: list[WorkManager],
) -> None:
    never = threading.Event()

    def handler(rec: Record) -> None:
        if rec.offset in (3, 7):
            never.wait()

    manager = build(managers, handler, ordering=Ordering.UNORDERED, workers=4)
    manager.open_partition(TP0, 0, frozenset())
    _fetching(manager, [_fetched_run(list(range(10)))])
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


def test_a_coroutine_manager_leaves_the_fetching_to_the_agent(
    managers: list[WorkManager],
) -> None:
    async def handler(rec: Record) -> None:
        return None

    manager = build(managers, handler)
    assert not manager.take_over_fetching(lambda: False)
