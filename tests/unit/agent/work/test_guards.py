from __future__ import annotations

from turnout.agent.work.guards import Backoff, DeadLetterGuard, FailureWindow


def test_failure_window_escalates_once_the_threshold_is_reached_within_the_window() -> None:
    window = FailureWindow(threshold=3, window_s=10.0)
    assert window.record(0.0) is None
    assert window.record(1.0) is None
    assert window.record(2.0) == 3
    # The burst escalated once; counting starts afresh.
    assert window.record(3.0) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    window = FailureWindow(threshold=3, window_s=10.0)
    window.record(0.0)
    window.record(1.0)
    assert window.record(11.5) is None
    assert window.record(12.0) is None
    assert window.record(12.5) == 3


def test_dead_letter_guard_trips_on_consecutive_dead_letters() -> None:
    guard = DeadLetterGuard(max_ratio=1.0, window_s=60.0, min_samples=1, max_consecutive=3)
    assert all(guard.dead_letter(float(i)) is None for i in range(3))
    trip = guard.dead_letter(3.0)
    assert trip is not None and "in a row" in trip.reason


def test_a_success_resets_the_consecutive_count() -> None:
    guard = DeadLetterGuard(max_ratio=1.0, window_s=60.0, min_samples=1, max_consecutive=2)
    for i in range(10):
        assert guard.dead_letter(float(i)) is None
        assert guard.dead_letter(float(i)) is None
        guard.successes(1, float(i))


def test_dead_letter_guard_trips_on_the_ratio_once_there_are_enough_samples() -> None:
    guard = DeadLetterGuard(max_ratio=0.1, window_s=60.0, min_samples=100, max_consecutive=1000)
    guard.successes(89, 0.0)
    for i in range(10):
        assert guard.dead_letter(1.0 + i * 0.01) is None  # 10 of 99: too few samples to judge
    trip = guard.dead_letter(2.0)
    assert trip is not None and "of the last 100" in trip.reason


def test_dead_letter_ratio_forgets_outside_its_window() -> None:
    guard = DeadLetterGuard(max_ratio=0.5, window_s=10.0, min_samples=2, max_consecutive=1000)
    guard.successes(1, 0.0)
    assert guard.dead_letter(0.5) is None
    # 20 s later the old samples are gone: one dead letter alone is under min_samples.
    guard.successes(1, 20.0)
    assert guard.dead_letter(20.5) is None
    assert guard.dead_letter(21.0) is not None  # now 2 of 3


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap() -> None:
    backoff = Backoff(initial=0.5, multiplier=2.0, maximum=3.0, jitter=0.1)
    for _ in range(50):
        assert 0.5 <= backoff.delay(1) <= 0.6
        assert 1.0 <= backoff.delay(2) <= 1.1
        assert 2.0 <= backoff.delay(3) <= 2.1
        assert backoff.delay(10) == 3.0
