"""Taking a run off a lane: consecutive segments are joined, but never across the
directive epoch they were fetched under (the owner re-stamped the partition between)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from turnout.agent.records import Record
from turnout.agent.work.lanes import take_records


def segment(offsets: range, epoch: int) -> list[Record]:
    return [Record("t", 0, o, None, b"v", (), 0, epoch) for o in offsets]


def test_segments_of_one_epoch_are_joined_up_to_the_size() -> None:
    lane: deque[Sequence[Record]] = deque([segment(range(3), 1), segment(range(3, 6), 1)])
    taken = take_records(lane, 5)
    assert [r.offset for r in taken] == [0, 1, 2, 3, 4]
    assert [[r.offset for r in rest] for rest in lane] == [[5]]


def test_a_run_stops_where_the_epoch_changes() -> None:
    lane: deque[Sequence[Record]] = deque([segment(range(3), 1), segment(range(3, 6), 2)])
    assert [r.offset for r in take_records(lane, 10)] == [0, 1, 2]
    assert {r.epoch for r in take_records(lane, 10)} == {2}
    assert not lane
