"""A committed position moved exactly between the source and the copies: the exact
cases, the refusals, and (hypothesis) never a wrong position in either direction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from turnout.mirror.migration_offsets import (
    copies_to_source,
    peer_is_newer,
    position_among_copies,
    source_to_copies,
)
from turnout.mirror.offset_syncs import OffsetSync


def test_a_sync_of_the_position_or_of_the_record_before_is_exact() -> None:
    assert source_to_copies([OffsetSync(10, 110)], 10) == 110
    assert source_to_copies([OffsetSync(9, 109)], 10) == 110
    assert copies_to_source([OffsetSync(10, 110)], 110) == 10
    assert copies_to_source([OffsetSync(9, 109)], 110) == 10


def test_between_two_syncs_as_far_apart_on_both_sides_the_position_is_interpolated() -> None:
    syncs = [OffsetSync(0, 100), OffsetSync(50, 150)]
    assert source_to_copies(syncs, 20) == 120
    assert copies_to_source(syncs, 120) == 20


def test_a_stretch_written_twice_is_never_interpolated() -> None:
    # 60 target records hold 50 source records: some were copied twice.
    syncs = [OffsetSync(0, 100), OffsetSync(50, 160)]
    assert source_to_copies(syncs, 20) is None
    assert copies_to_source(syncs, 120) is None


def test_a_position_past_the_newest_sync_waits_for_the_mirror() -> None:
    syncs = [OffsetSync(0, 100), OffsetSync(50, 150)]
    assert source_to_copies(syncs, 60) is None
    assert source_to_copies([], 0) is None


def test_a_position_below_every_sync_is_not_translated() -> None:
    assert source_to_copies([OffsetSync(10, 3)], 5) is None
    assert copies_to_source([OffsetSync(10, 3)], 1) is None


@given(st.integers(1, 300), st.integers(0, 50), st.data())
def test_copies_of_each_record_once_translate_exactly_both_ways_or_not_at_all(
    length: int, foreign: int, data: st.DataObject
) -> None:
    # The copies' partition held ``foreign`` other records before the mirror's first copy.
    synced = sorted(data.draw(st.sets(st.integers(0, length - 1), min_size=1)))
    syncs = [OffsetSync(s, foreign + s) for s in synced]
    committed = data.draw(st.integers(0, length))
    forward = source_to_copies(syncs, committed)
    assert forward in (None, foreign + committed)
    backward = copies_to_source(syncs, foreign + committed)
    assert backward in (None, committed)
    # Once a sync is at or below the position and another at or past the record before
    # it, the answer is known.
    if synced[0] <= committed and synced[-1] >= committed - 1:
        assert forward == foreign + committed
        assert backward == committed


@st.composite
def rewritten_partition(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """A copies' partition as an at-least-once mirror writes it: writings of ascending
    source offsets, each resuming at or below where the previous one got (duplicates),
    the last one copying on past everything copied before, and the log positions it
    synced, of the last writing (a newer writing supersedes the older syncs at or above
    it)."""
    log: list[int] = []
    start = 0
    for _ in range(draw(st.integers(0, 3))):
        length = draw(st.integers(1, 40))
        log += range(start, start + length)
        start = draw(st.integers(start, start + length))
    last = len(log)
    log += range(start, max([start, *log]) + draw(st.integers(1, 40)))
    synced = sorted(draw(st.sets(st.integers(last, len(log) - 1), min_size=1)))
    return log, synced


@given(rewritten_partition(), st.integers(0, 200))
def test_a_translation_over_a_rewritten_partition_never_skips_a_record(
    partition: tuple[list[int], list[int]], committed: int
) -> None:
    log, synced = partition
    target = source_to_copies([OffsetSync(log[t], t) for t in synced], committed)
    if target is None:
        return
    assert {s for s in log if s >= committed} <= set(log[target:])
    assert target == len(log) or log[target] == committed


def test_the_commit_of_the_later_epoch_is_resumed_from() -> None:
    assert peer_is_newer(None, 3)
    assert peer_is_newer(2, 3)
    assert not peer_is_newer(3, 3)
    assert not peer_is_newer(4, 3)
    assert not peer_is_newer(4, None)
    assert not peer_is_newer(None, None)


def test_the_first_copy_of_the_position_among_the_copies_is_its_place() -> None:
    copies = [(100, 7), (101, 8), (102, 9), (103, 8), (104, 9)]
    assert position_among_copies(copies, 8, end=105) == 101


def test_copies_ending_with_the_record_before_put_the_position_at_their_end() -> None:
    assert position_among_copies([(100, 7), (101, 8)], 9, end=102) == 102


def test_copies_short_of_the_position_or_without_headers_say_nothing() -> None:
    assert position_among_copies([(100, 7)], 9, end=101) is None
    assert position_among_copies([(100, None), (101, 8)], 8, end=102) is None
    assert position_among_copies([], 9, end=100) is None


@given(st.integers(1, 200), st.integers(0, 50), st.data())
def test_copies_of_each_record_once_give_the_exact_position(
    length: int, foreign: int, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, length - 1))
    committed = data.draw(st.integers(start, length))
    copies = [(foreign + s, s) for s in range(start, length)]
    assert position_among_copies(copies, committed, end=foreign + length) == foreign + committed
