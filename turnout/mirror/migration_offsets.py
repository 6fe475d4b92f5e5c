"""A committed position moved exactly between a mirrored partition's two clusters. Pure.

A consumer group's committed offset is the next record it would read. Moving a group
from the source cluster to the mirror's copies (a cluster migration) or back (its
rollback) needs that position on the other cluster **exactly**: one record early is a
duplicate, one record late is a loss. The mirror's offset syncs (``offset_syncs``) say
where some records' copies are; between two of them the position is exact when the
stretch holds one copy of each source record in order, which the syncs prove by their
distances:

- a sync of the position itself, ``(C, t)``: the copy of ``C`` is at ``t``;
- a sync of the record before, ``(C - 1, t)``: the next record (the copy of ``C``, or
  where it will be written) is at ``t + 1``;
- two neighbouring syncs ``(s1, t1)``, ``(s2, t2)`` with ``s1 < C < s2`` and
  ``t2 - t1 == s2 - s1``: the stretch between holds exactly one copy of each source
  record of it (the mirror writes every source record at least once and in order, so
  as many target records as source records leave room for nothing else), so the copy of
  ``C`` is at ``t1 + (C - s1)``.

Anything else is ``None``: *not yet exact*. Either the mirror has not copied (or synced)
past ``C`` yet, and a later sync will settle it (a caller waits, bounded), or the
stretch around ``C`` was written twice or holds foreign records, and no later sync
changes that (the caller's wait runs out and it refuses; it never starts from a guess).
The reverse direction (a position on the copies back to the source) is the same rule
with the two sides of each sync swapped (``copies_to_source``).

These rules hold while only the mirror writes the target partition from the first sync
used onward; a mirror resumed at least once after writing past ``C`` (duplicates in the
target) may make the copies hold a second copy of records before ``C`` after the
translated position: those are the mirror's at-least-once duplicates, which any reader
of the copies sees (docs/mirror.md).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from turnout.mirror.offset_syncs import OffsetSync


def source_to_copies(syncs: Sequence[OffsetSync], committed: int) -> int | None:
    """The copies' offset of source position ``committed`` (see the module); ``syncs``
    oldest first, increasing in both offsets. None: not exact (yet)."""
    return _exact([(s.source, s.target) for s in syncs], committed)


def copies_to_source(syncs: Sequence[OffsetSync], committed: int) -> int | None:
    """The source offset of position ``committed`` on the copies; None: not exact (yet)."""
    return _exact([(s.target, s.source) for s in syncs], committed)


def _exact(pairs: Sequence[tuple[int, int]], position: int) -> int | None:
    """``pairs`` are (from, to) offsets, increasing in both."""
    index = bisect_right([start for start, _ in pairs], position) - 1
    if index < 0:
        return None
    start, end = pairs[index]
    if start == position:
        return end
    if start == position - 1:
        return end + 1
    if index + 1 < len(pairs):
        next_start, next_end = pairs[index + 1]
        if next_end - end == next_start - start:
            return end + (position - start)
    return None


def peer_is_newer(own_epoch: int | None, peer_epoch: int | None) -> bool:
    """Whether the other cluster's commit of a partition is the one to resume from: it
    was made at a later directive epoch than this cluster's (a switch or a rollback
    moved the partition since), or this cluster has none. ``None``: no commit (or one
    without Turnout's metadata, which is older than any colour's of this deployment)."""
    if peer_epoch is None:
        return False
    return own_epoch is None or peer_epoch > own_epoch


def position_among_copies(
    copies: Iterable[tuple[int, int | None]], committed: int, end: int
) -> int | None:
    """The copies' offset of source position ``committed``, from the copies themselves:
    ``copies`` are (copies' offset, source offset from its coordinate headers) in offset
    order, read from at or after the copy of a source offset at or below ``committed``
    up to ``end`` (the copies' high watermark). The first copy of ``committed`` is its
    position; when the copies end with the copy of the record before it, the next copy
    goes at ``end``. None: not copied yet, or a copy without headers (the syncs decide)."""
    last: int | None = None
    for offset, source in copies:
        if source is None:
            return None
        if source == committed:
            return offset
        last = source
    return end if last == committed - 1 else None
