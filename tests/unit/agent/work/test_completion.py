from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.agent.work.support import fetched_run
from turnout.agent.dispatch import CommitPoint
from turnout.agent.work.completion import DEFAULT_DONE_BUDGET_BYTES, CompletionTracker, trim_done
from turnout.protocol.models import MAX_COMMIT_METADATA_BYTES, CommitMetadata


def tracker_with(offsets: range) -> CompletionTracker:
    tracker = CompletionTracker(offsets.start)
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
    tracker = CompletionTracker(10)
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
    tracker = CompletionTracker(5)
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


class _Model:
    """The tracker's contract, spelled out over plain sets."""

    def __init__(self, next_offset: int) -> None:
        self.frontier = next_offset
        self.fetched: list[int] = []
        self.done: set[int] = set()
        self.held: set[int] = set()

    def open(self) -> list[int]:
        return [o for o in self.fetched if o not in self.done and o not in self.held]

    def point(self) -> tuple[int, tuple[int, ...]]:
        open_ = self.open()
        low = open_[0] if open_ else self.frontier
        next_offset = min([low, *self.held])
        between = [o for o in range(next_offset, low) if o not in self.held]
        past = [o for o in self.fetched if o >= low and o in self.done]
        return next_offset, tuple(between + past)

    def span(self) -> int:
        open_ = self.open()
        return sum(1 for o in self.fetched if open_ and o >= open_[0])


@given(st.data())
def test_the_tracker_agrees_with_its_model_over_any_runs_and_completions(
    data: st.DataObject,
) -> None:
    start = data.draw(st.integers(0, 1_000))
    tracker, model = CompletionTracker(start), _Model(start)
    for _ in range(data.draw(st.integers(1, 40))):
        action = data.draw(st.sampled_from(["range", "single", "complete", "run", "hold"]))
        open_ = model.open()
        if action == "range":
            first = model.frontier + data.draw(st.integers(0, 3))  # a gap: compaction
            count = data.draw(st.integers(1, 20))
            tracker.add_range(first, count)
            model.fetched += range(first, first + count)
            model.frontier = first + count
        elif action == "single":
            offset = model.frontier + data.draw(st.integers(0, 2))
            assert tracker.add(offset)
            model.fetched.append(offset)
            model.frontier = offset + 1
        elif action == "complete" and open_:
            offset = data.draw(st.sampled_from(open_))
            tracker.complete(offset)
            model.done.add(offset)
        elif action == "run" and open_:
            # a run finished in order: consecutive open offsets from one of them
            i = data.draw(st.integers(0, len(open_) - 1))
            j = i + 1
            while j < len(open_) and open_[j] == open_[j - 1] + 1 and j - i < 15:
                j += 1
            tracker.complete_range(open_[i], j - i)
            model.done.update(open_[i:j])
        elif action == "hold" and open_:
            offset = data.draw(st.sampled_from(open_))
            tracker.hold(offset)
            model.held.add(offset)
        point = tracker.point(budget_bytes=1_000_000)
        assert (point.next_offset, point.done_beyond) == model.point()
        assert tracker.span == model.span()


def test_a_fetched_run_registers_and_completes_as_one_range_and_a_run_with_gaps_by_offset() -> None:
    tracker = CompletionTracker(0)
    consecutive = fetched_run(list(range(5)))
    with_gap = fetched_run([5, 7])  # 6 is absent from the log
    tracker.add_records(consecutive)
    tracker.add_records(with_gap)
    assert tracker.span == 7 and tracker.frontier == 8
    tracker.complete_records(with_gap)
    assert tracker.point() == CommitPoint(0, (5, 7))
    tracker.complete_records(consecutive)
    assert tracker.point() == CommitPoint(8)
    assert tracker.span == 0


def test_consecutive_offsets_given_as_a_list_complete_as_one_range() -> None:
    tracker = CompletionTracker(0)
    tracker.add_range(0, 6)
    version = tracker.version
    tracker.complete_all([0, 1, 2, 3])
    assert tracker.point() == CommitPoint(4)
    assert tracker.version == version + 1  # one change, not one per offset
    tracker.complete_all([5])
    assert tracker.point() == CommitPoint(4, (5,))
