"""The status's processing rate: a sliding window that reads 0 once nothing is processed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.agent.rate_window import RateWindow

WINDOW_S = 5.0
gaps = st.lists(st.floats(min_value=0.01, max_value=3.0), min_size=1, max_size=40)


@given(gaps=gaps, rate=st.floats(min_value=0.5, max_value=1e5))
def test_a_steady_rate_reads_as_itself_however_often_it_is_sampled(
    gaps: list[float], rate: float
) -> None:
    window = RateWindow(WINDOW_S)
    now = 100.0
    assert window.sample(now, 0.0) == 0.0  # one sample: no rate yet
    for gap in gaps:
        now += gap
        assert math.isclose(window.sample(now, (now - 100.0) * rate), rate, rel_tol=1e-6)


@given(before=gaps, after=gaps)
def test_a_count_that_stopped_reads_zero_once_the_window_has_passed_its_last_growth(
    before: list[float], after: list[float]
) -> None:
    window = RateWindow(WINDOW_S)
    now, count = 0.0, 0.0
    for gap in before:
        now, count = now + gap, count + 10 * gap
        window.sample(now, count)
    stopped_at = now
    for gap in after:
        now += gap
        rate = window.sample(now, count)
        if now - WINDOW_S >= stopped_at:
            assert rate == 0.0
    assert window.sample(stopped_at + WINDOW_S + 0.01, count) == 0.0


def test_an_idle_gap_longer_than_the_window_is_averaged_across_the_samples_around_it() -> None:
    window = RateWindow(WINDOW_S)
    window.sample(0.0, 0.0)
    # 100 records between two samples 100 s apart: taken as even, 5 s hold 5 of them.
    assert window.sample(100.0, 100.0) == pytest.approx(1.0)


def test_a_falling_count_reads_as_no_progress() -> None:
    window = RateWindow(WINDOW_S)
    window.sample(0.0, 100.0)
    assert window.sample(1.0, 10.0) == 0.0


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateWindow(0.0)
