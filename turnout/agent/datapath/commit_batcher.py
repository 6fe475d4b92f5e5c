"""When to commit a partition: batched by interval and by count, never dropped.

Pure bookkeeping (no I/O): the commit path asks ``due`` and reports ``succeeded`` or
``failed``. A point that failed to commit stays pending and is due again at once, so a
failure only delays a commit; it is never forgotten.

Progress is anything the stored commit does not say yet: a higher next offset, or, at the
same next offset, a different set of offsets completed past the first gap. The second
matters while a record is held (retrying, or kept by a DO_NOT_COMMIT decision): the next
offset cannot move, but later records complete, and a successor reads which from the
commit's metadata; if they were never committed it would process them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from turnout.agent.dispatch import CommitPoint
from turnout.protocol.partitions import PartitionId


@dataclass
class _Track:
    #: The next offset stored for the partition, or where it started if nothing is stored.
    committed: int
    #: The offsets past ``committed`` that the stored commit says are complete.
    done_beyond: tuple[int, ...] = ()
    #: When progress beyond ``committed`` was first seen (None: nothing pending).
    pending_since: float | None = None
    failures: int = 0


def _progress(track: _Track, point: CommitPoint) -> int:
    """How many offsets ``point`` says are complete that the stored commit does not (0:
    nothing new). At the same next offset a changed completed set counts at least one."""
    if point.next_offset > track.committed:
        return point.next_offset - track.committed
    if point.next_offset == track.committed and point.done_beyond != track.done_beyond:
        return max(1, len(point.done_beyond) - len(track.done_beyond))
    return 0


class CommitBatcher:
    def __init__(
        self, interval_s: float, every: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval_s = interval_s
        self._every = every
        self._clock = clock
        self._tracks: dict[PartitionId, _Track] = {}

    def set_policy(self, interval_s: float, every: int) -> None:
        """Batch from now on by this interval and count (new processing settings)."""
        self._interval_s = interval_s
        self._every = every

    def track(self, tp: PartitionId, baseline: int) -> None:
        """Start tracking ``tp``: ``baseline`` is its stored next offset (or, if none is
        stored, the offset consumption starts at)."""
        self._tracks[tp] = _Track(baseline)

    def forget(self, tp: PartitionId) -> None:
        self._tracks.pop(tp, None)

    def committed(self, tp: PartitionId) -> int | None:
        track = self._tracks.get(tp)
        return track.committed if track else None

    def due(self, tp: PartitionId, point: CommitPoint | None) -> bool:
        """Whether ``point`` should be committed now: it is ahead of the stored commit
        and either ``every`` offsets ahead, or pending for ``interval_s``, or an earlier
        attempt failed (retry at once: the failure delays, never drops, a commit)."""
        track = self._tracks.get(tp)
        if track is None or point is None:
            return False
        progress = _progress(track, point)
        if not progress:
            track.pending_since = None
            return False
        now = self._clock()
        if track.pending_since is None:
            track.pending_since = now
        if track.failures:
            return True
        return progress >= self._every or now - track.pending_since >= self._interval_s

    def ahead(self, tp: PartitionId, point: CommitPoint | None) -> bool:
        """Whether ``point`` is past the stored commit (worth taking along in a commit that
        is due for another partition)."""
        track = self._tracks.get(tp)
        return track is not None and point is not None and _progress(track, point) > 0

    def succeeded(self, tp: PartitionId, point: CommitPoint) -> None:
        track = self._tracks.get(tp)
        if track is None:
            return
        if point.next_offset >= track.committed:
            track.committed = point.next_offset
            track.done_beyond = point.done_beyond
        track.pending_since = None
        track.failures = 0

    def failed(self, tp: PartitionId) -> None:
        track = self._tracks.get(tp)
        if track is not None:
            track.failures += 1

    def failures(self, tp: PartitionId) -> int:
        track = self._tracks.get(tp)
        return track.failures if track else 0
