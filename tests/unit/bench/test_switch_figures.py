"""The switch benchmark's measurements (bench/switch_measure.py) on hand-made histories."""

from __future__ import annotations

from typing import Any

from bench.switch import summary
from bench.switch_measure import (
    gap_ms_max,
    gaps_ms_per_switch,
    percentile,
    switch_done_ns,
    worst_switches,
)
from turnout.verify import Processed

MS = 1_000_000


def processed(instance: str, partition: int, offset: int, start_ms: int, end_ms: int) -> Processed:
    return Processed(
        instance=instance, colour="blue", pid=1, ts=0.0, mono_ns=end_ms * MS, topic="t",
        partition=partition, offset=offset, key=None, value=f"v{offset}", epoch=1,
        start_ns=start_ms * MS, end_ns=end_ms * MS,
    )  # fmt: skip


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0


def test_gap_counts_only_time_a_ready_record_waited_after_the_switch_started() -> None:
    acked = {
        (0, 0): ("v0", 0, 0),
        (0, 1): ("v1", 100 * MS, 105 * MS),
        (0, 2): ("v2", 110 * MS, 115 * MS),
    }
    events = [
        processed("a", 0, 0, 10, 12),  # before the switch: a 10 ms wait, not counted
        processed("b", 0, 1, 400, 401),  # acknowledged at 105, switch at 150: waited 250
        processed("b", 0, 2, 401, 402),  # ready when offset 1 ended: no wait
    ]
    assert gap_ms_max(acked, events, [150 * MS]) == 250.0
    assert gap_ms_max(acked, events, []) == 0.0


def test_a_record_waits_from_its_acknowledgement_not_from_its_produce_call() -> None:
    # The broker stalled the produce for 300 ms: not time a consumer could have used.
    acked = {(0, 1): ("v1", 100 * MS, 400 * MS)}
    events = [processed("b", 0, 1, 450, 451)]
    assert gap_ms_max(acked, events, [50 * MS]) == 50.0
    assert gap_ms_max(acked, events, [50 * MS], from_send=True) == 350.0


def test_a_switch_is_done_when_every_partition_was_processed_by_the_new_side() -> None:
    events = [processed("new-0", 0, 5, 200, 201), processed("old-0", 1, 5, 210, 211)]
    assert switch_done_ns(events, {"new-0"}, 100 * MS, 2) is None
    events.append(processed("new-0", 1, 6, 300, 301))
    assert switch_done_ns(events, {"new-0"}, 100 * MS, 2) == 300 * MS
    assert switch_done_ns(events, {"new-0"}, 250 * MS, 2) is None


def test_each_switch_is_charged_the_waits_of_its_own_window() -> None:
    acked = {(0, 1): ("v1", 0, 100 * MS), (0, 2): ("v2", 0, 300 * MS)}
    events = [
        processed("b", 0, 1, 180, 181),  # switch at 150: waited 30
        processed("a", 0, 2, 400, 401),  # switch at 350: waited 50
    ]
    assert gaps_ms_per_switch(acked, events, [150 * MS, 350 * MS]) == [30.0, 50.0]
    assert gaps_ms_per_switch(acked, events, []) == []


def test_the_worst_switches_are_named_by_number_from_one_longest_first() -> None:
    gaps = [120.04, 40.0, 35.5, 260.0, 41.0, 39.0, 90.0]
    assert worst_switches(gaps) == [[4, 260.0], [1, 120.0], [7, 90.0], [5, 41.0], [2, 40.0]]
    assert worst_switches([]) == []


def test_the_best_native_is_the_smallest_gap_and_the_ratio_is_against_it() -> None:
    result: dict[str, Any] = {
        "turnout": {"gap_ms_max": 100.0},
        "kafka_eager": {"gap_ms_max": 3000.0},
        "kafka_eager_tuned": {"gap_ms_max": 1100.0},
    }
    summary(result)
    assert result["best_native"] == {"mode": "kafka_eager_tuned", "gap_ms_max": 1100.0}
    assert result["gap_ratio_best_native"] == 11.0
