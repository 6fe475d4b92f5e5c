"""Commit batching: by count, by interval, never dropped after a failure."""

from __future__ import annotations

from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.dispatch import CommitPoint

TP = ("t", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _batcher(clock: Clock) -> CommitBatcher:
    batcher = CommitBatcher(interval_s=1.0, every=100, clock=clock)
    batcher.track(TP, 10)
    return batcher


def test_nothing_is_due_without_progress_past_the_stored_commit() -> None:
    clock = Clock()
    batcher = _batcher(clock)
    assert not batcher.due(TP, None)
    assert not batcher.due(TP, CommitPoint(10))
    clock.now += 5
    assert not batcher.due(TP, CommitPoint(10))


def test_a_commit_is_due_once_count_records_completed() -> None:
    batcher = _batcher(Clock())
    assert not batcher.due(TP, CommitPoint(109))
    assert batcher.due(TP, CommitPoint(110))


def test_a_commit_is_due_once_progress_waited_the_interval() -> None:
    clock = Clock()
    batcher = _batcher(clock)
    assert not batcher.due(TP, CommitPoint(11))
    clock.now += 0.99
    assert not batcher.due(TP, CommitPoint(12))
    clock.now += 0.02
    assert batcher.due(TP, CommitPoint(12))


def test_success_resets_the_interval_and_moves_the_baseline() -> None:
    clock = Clock()
    batcher = _batcher(clock)
    assert not batcher.due(TP, CommitPoint(50))
    clock.now += 2
    assert batcher.due(TP, CommitPoint(50))
    batcher.succeeded(TP, CommitPoint(50))
    assert batcher.committed(TP) == 50
    assert not batcher.due(TP, CommitPoint(50))
    assert not batcher.due(TP, CommitPoint(51))


def test_a_failed_commit_is_due_again_at_once_and_never_dropped() -> None:
    clock = Clock()
    batcher = _batcher(clock)
    assert batcher.due(TP, CommitPoint(200))
    batcher.failed(TP)
    assert batcher.failures(TP) == 1
    assert batcher.due(TP, CommitPoint(200))
    batcher.succeeded(TP, CommitPoint(200))
    assert batcher.failures(TP) == 0 and batcher.committed(TP) == 200


def test_the_baseline_never_regresses() -> None:
    batcher = _batcher(Clock())
    batcher.succeeded(TP, CommitPoint(300))
    batcher.succeeded(TP, CommitPoint(200))
    assert batcher.committed(TP) == 300


def test_forgotten_partitions_are_never_due() -> None:
    batcher = _batcher(Clock())
    batcher.forget(TP)
    assert not batcher.due(TP, CommitPoint(10_000))
    assert batcher.committed(TP) is None


def test_progress_not_yet_due_is_ahead_and_worth_taking_along() -> None:
    batcher = _batcher(Clock())
    assert batcher.ahead(TP, CommitPoint(11)) and not batcher.due(TP, CommitPoint(11))
    assert not batcher.ahead(TP, CommitPoint(10))
    assert not batcher.ahead(TP, None)
    assert not batcher.ahead(("t", 9), CommitPoint(50))  # not tracked


def test_records_completed_past_a_held_record_are_progress_that_gets_committed() -> None:
    """The next offset is stuck at a held record; what completes after it must still be
    committed (a successor reads it from the metadata and skips it)."""
    clock = Clock()
    batcher = _batcher(clock)
    batcher.succeeded(TP, CommitPoint(10))
    assert batcher.ahead(TP, CommitPoint(10, (11, 12)))
    assert not batcher.due(TP, CommitPoint(10, (11, 12)))
    clock.now += 1.01
    assert batcher.due(TP, CommitPoint(10, (11, 12)))
    batcher.succeeded(TP, CommitPoint(10, (11, 12)))
    assert not batcher.ahead(TP, CommitPoint(10, (11, 12)))
    assert batcher.ahead(TP, CommitPoint(10, (11, 12, 13)))


def test_many_records_completed_past_a_held_record_are_due_by_count() -> None:
    batcher = _batcher(Clock())
    assert batcher.due(TP, CommitPoint(10, tuple(range(11, 111))))


def test_an_older_point_never_replaces_the_stored_completed_set() -> None:
    batcher = _batcher(Clock())
    batcher.succeeded(TP, CommitPoint(20, (22,)))
    batcher.succeeded(TP, CommitPoint(15, (16,)))
    assert batcher.committed(TP) == 20
    assert not batcher.ahead(TP, CommitPoint(20, (22,)))
