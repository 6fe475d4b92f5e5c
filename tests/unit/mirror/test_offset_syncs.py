"""The offset mapping's pure rules: which syncs are kept, how a source position is
translated, and that the translation never skips a record and keeps its bound."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from turnout.mirror.offset_syncs import (
    OffsetSync,
    SyncHistory,
    SyncSchedule,
    Translation,
)


def test_a_sync_of_the_position_itself_translates_exactly() -> None:
    history = SyncHistory()
    history.add(OffsetSync(10, 110))
    assert history.translate(10) == Translation(110, 0)


def test_a_sync_of_the_record_before_translates_exactly_to_the_next_copy() -> None:
    history = SyncHistory()
    history.add(OffsetSync(9, 109))
    translation = history.translate(10)
    assert translation == Translation(110, 0)
    assert translation is not None and translation.exact


def test_an_older_sync_bounds_the_rereads_by_the_records_between() -> None:
    history = SyncHistory()
    history.add(OffsetSync(0, 100))
    history.add(OffsetSync(50, 150))
    assert history.translate(40) == Translation(101, 39)


def test_a_position_below_every_sync_is_not_translated() -> None:
    history = SyncHistory()
    history.add(OffsetSync(10, 3))
    assert history.translate(9) is None


def test_a_newer_writing_of_a_stretch_supersedes_the_syncs_at_or_above_it() -> None:
    history = SyncHistory()
    for sync in (OffsetSync(0, 0), OffsetSync(100, 100), OffsetSync(200, 200)):
        history.add(sync)
    history.add(OffsetSync(120, 260))  # resumed at a commit below 200, written again
    assert history.syncs == (OffsetSync(0, 0), OffsetSync(100, 100), OffsetSync(120, 260))


def test_a_full_history_keeps_the_oldest_and_newest_and_is_denser_near_the_head() -> None:
    history = SyncHistory(capacity=16)
    for i in range(1000):
        history.add(OffsetSync(i * 10, i * 10))
    syncs = history.syncs
    assert len(syncs) == 16
    assert syncs[0] == OffsetSync(0, 0)
    assert syncs[-1] == OffsetSync(9990, 9990)
    gaps = [b.source - a.source for a, b in pairwise(syncs)]
    assert gaps[-1] < gaps[0]


def test_a_partition_is_due_first_then_after_enough_records_or_time() -> None:
    schedule = SyncSchedule(every_records=100, every_s=1.0)
    assert schedule.due("p", 5, now=0.0)
    schedule.synced("p", 5, now=0.0)
    assert not schedule.due("p", 104, now=0.5)
    assert schedule.due("p", 105, now=0.5)
    assert schedule.due("p", 6, now=1.0)
    assert schedule.due("p", 4, now=0.1)  # written again from an older position


@st.composite
def mirrored_partition(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """A target partition as a mirror writes it: writings of ascending source offsets,
    each resuming at a committed offset (never past what the previous one wrote, never
    below the previous resume point), the last one caught up with everything copied
    before (a resumed mirror copies on); and the log positions the mirror synced."""
    log: list[int] = []
    start = 0
    highest = -1
    for _ in range(draw(st.integers(0, 3))):
        length = draw(st.integers(1, 40))
        log += range(start, start + length)
        highest = max(highest, start + length - 1)
        # The next writing resumes at a committed offset: at most past what THIS writing
        # acknowledged (an earlier, longer writing's records were committed by it, or
        # not at all, before this writing's resume point).
        start = draw(st.integers(start, start + length))
    log += range(start, max(highest + 1, start) + draw(st.integers(1, 40)))
    synced = sorted(draw(st.sets(st.integers(0, len(log) - 1), min_size=1)))
    return log, synced


@given(mirrored_partition(), st.integers(0, 200), st.integers(2, 8))
def test_a_translated_position_never_skips_a_record_the_group_has_not_read(
    partition: tuple[list[int], list[int]], committed: int, capacity: int
) -> None:
    log, synced = partition
    history = SyncHistory(capacity)
    for position in synced:
        history.add(OffsetSync(log[position], position))
    translation = history.translate(committed)
    if translation is None:
        assert all(sync.source > committed for sync in history.syncs)
        return
    after = log[translation.offset :]
    wanted = {offset for offset in log if offset >= committed}
    assert wanted <= set(after)


@given(st.integers(1, 300), st.data(), st.integers(2, 8))
def test_without_duplicates_the_rereads_are_exactly_those_the_bound_allows(
    length: int, data: st.DataObject, capacity: int
) -> None:
    base = data.draw(st.integers(0, 50))  # the target partition held other records before
    synced = sorted(data.draw(st.sets(st.integers(0, length - 1), min_size=1)))
    committed = data.draw(st.integers(synced[0], length))
    history = SyncHistory(capacity)
    for source in synced:
        history.add(OffsetSync(source, base + source))
    translation = history.translate(committed)
    assert translation is not None
    # The target holds source offset s at base + s: the reader re-reads what precedes
    # the copy of ``committed``.
    rereads = base + committed - translation.offset
    assert 0 <= rereads <= translation.rereads_at_most
    assert rereads == translation.rereads_at_most
    assert translation.exact == (rereads == 0)
