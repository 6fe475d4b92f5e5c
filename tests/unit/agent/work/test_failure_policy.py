"""The failure policy: retries, the four failure decisions, escalation and dead letters,
through a manager with real worker threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from tests.unit.agent.work.support import (
    FAST,
    TP0,
    build,
    fail_offset_any,
    record,
    settle,
    wait_until,
)
from turnout.agent.records import Record
from turnout.agent.work import (
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


def fail_offset_2(rec: Record) -> None:
    if rec.offset == 2:
        raise PermanentFailure("poison")


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


def test_a_record_held_without_a_stop_is_reported_for_the_status_once_per_decision(
    managers: list[WorkManager],
) -> None:
    reported: list[str] = []
    manager = build(
        managers,
        fail_offset_2,
        on_failure=lambda f: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE,
        on_held=reported.append,
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    wait_until(lambda: bool(reported), "a report of the held record")
    assert len(reported) == 1
    assert f"{TP0[0]}/{TP0[1]}@2 (DO_NOT_COMMIT_AND_CONTINUE)" in reported[0]
    assert "poison" in reported[0]


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


def test_a_partition_lanes_next_run_waits_until_its_dead_letter_is_handed_to_the_sink(
    managers: list[WorkManager],
) -> None:
    handed = threading.Event()
    release = threading.Event()
    started_during_send: list[bool] = []
    ran: list[int] = []

    class SlowSink(FakeSink):
        def send(
            self, record: Record, error: BaseException, attempts: int, on_done: Delivered
        ) -> None:
            handed.set()
            release.wait(5)
            started_during_send.append(3 in ran)
            on_done(None)

    def handler(rec: Record) -> None:
        ran.append(rec.offset)
        fail_offset_2(rec)

    manager = build(
        managers, handler, dead_letters=SlowSink(), max_retries=0, ordering=Ordering.PARTITION
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(5):
        manager.submit(record(offset))
    assert handed.wait(5)
    time.sleep(0.2)  # a next run that could start would start now
    release.set()
    settle(manager, TP0, 5)
    assert started_during_send == [False]
    assert ran.count(3) == 1
