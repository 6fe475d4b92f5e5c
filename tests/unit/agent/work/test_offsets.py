from __future__ import annotations

from turnout.agent.work.offsets import DEFAULT_DONE_BUDGET_BYTES, OffsetTracker, trim_done
from turnout.protocol.models import MAX_COMMIT_METADATA_BYTES, CommitMetadata


def tracker_with(offsets: range) -> OffsetTracker:
    tracker = OffsetTracker(offsets.start)
    for offset in offsets:
        assert tracker.add(offset)
    return tracker


def test_commit_point_stops_at_the_first_unfinished_offset_and_lists_the_done_ones_past_it() -> (
    None
):
    tracker = tracker_with(range(10))
    for offset in range(10):
        if offset not in (3, 7):
            tracker.complete(offset)
    point = tracker.point()
    assert point.next_offset == 3
    assert point.done_beyond == (4, 5, 6, 8, 9)


def test_commit_point_advances_past_offsets_that_complete_out_of_order() -> None:
    tracker = tracker_with(range(5))
    for offset in (4, 2, 3, 1):
        tracker.complete(offset)
    assert tracker.point().next_offset == 0
    tracker.complete(0)
    assert tracker.point().next_offset == 5
    assert tracker.point().done_beyond == ()
    assert tracker.span == 0


def test_log_gaps_from_compaction_do_not_block_the_commit_point() -> None:
    tracker = OffsetTracker(10)
    for offset in (10, 14, 20):
        tracker.add(offset)
        tracker.complete(offset)
    assert tracker.point().next_offset == 21


def test_a_held_offset_pins_the_commit_point_whatever_completes_after_it() -> None:
    tracker = tracker_with(range(6))
    tracker.complete(0)
    tracker.hold(1)
    for offset in range(2, 6):
        tracker.complete(offset)
    for offset in range(6, 1000):
        tracker.add(offset)
        tracker.complete(offset)
    point = tracker.point()
    assert point.next_offset == 1
    assert point.done_beyond[:3] == (2, 3, 4)
    # Memory does not grow with what completes after the held offset.
    assert tracker.span == 0


def test_held_offsets_are_never_reported_done() -> None:
    tracker = tracker_with(range(8))
    tracker.hold(2)
    tracker.complete(4)
    tracker.hold(5)
    point = tracker.point()
    assert point.next_offset == 0
    assert point.done_beyond == (4,)
    for offset in (0, 1, 3):
        tracker.complete(offset)
    assert tracker.point().next_offset == 2
    assert tracker.point().done_beyond == (3, 4)


def test_offsets_at_or_below_the_frontier_are_refused() -> None:
    tracker = OffsetTracker(5)
    assert not tracker.add(4)
    assert tracker.add(5)
    assert not tracker.add(5)


def test_done_list_is_trimmed_to_the_budget_keeping_the_lowest() -> None:
    kept = trim_done(iter(range(1_000_000_000, 1_000_100_000)), 110)
    assert kept == tuple(range(1_000_000_000, 1_000_000_010))


def test_a_huge_done_list_still_encodes_within_the_broker_limit() -> None:
    base = 9_000_000_000_000_000
    tracker = tracker_with(range(base, base + 5000))
    for offset in range(base + 1, base + 5000):
        tracker.complete(offset)
    point = tracker.point()
    assert point.next_offset == base
    assert point.done_beyond[0] == base + 1
    metadata = CommitMetadata(epoch=2**63 - 1, instance="i" * 200, done=point.done_beyond)
    assert len(metadata.encode().encode()) <= MAX_COMMIT_METADATA_BYTES
    assert len(",".join(map(str, point.done_beyond))) <= DEFAULT_DONE_BUDGET_BYTES


def test_version_changes_only_when_state_changes() -> None:
    tracker = tracker_with(range(3))
    before = tracker.version
    tracker.point()
    assert tracker.version == before
    tracker.complete(1)
    assert tracker.version == before + 1
