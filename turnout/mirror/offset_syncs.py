"""The source → target offset mapping of one mirrored partition, and what it says about a
source position. Pure.

An *offset sync* ``(s, t)`` says: the record at source offset ``s`` of a partition has a
copy at offset ``t`` of the same partition of its target topic (taken from the target's
delivery report, so it is a fact, never an estimate). The mirror writes one every
``SYNC_EVERY_RECORDS`` records or ``SYNC_EVERY_S`` per partition, always of a run's last
record (``SyncSchedule``), and one of the first record it copies of a partition; the
reader keeps a bounded history per partition (``SyncHistory``) and translates a consumer
group's committed source offset ``C`` (the next record it would read) with the newest
sync at or below it (``translate``):

- a sync with ``s == C``: ``t``, the copy of ``C`` itself;
- otherwise the newest with ``s < C``: ``t + 1``. A target consumer starting there misses
  none of the records the group has not read, and may read again the copies of
  ``s + 1 .. C - 1``, which the group had read: **at most ``C - 1 - s`` duplicates**
  (``Translation.rereads_at_most``), none when ``s == C - 1``.

The bound and "exact" (``rereads_at_most == 0``) hold while the target partition holds
only this mirror's copies from the sync onward and nothing in that stretch was written
twice. At least once, a mirror that resumes from a committed source offset writes a
stretch again; a translation over such a stretch re-reads those duplicates too. It
never skips a record: every source record after ``s`` has (or, once a resumed mirror
caught up, will have) a copy after ``t``, because a resumed mirror starts at a committed
offset, which never passes what it acknowledged. A group whose position is below every
sync kept cannot be translated (``None``): where its next record sits is not known.

Keeping: a newer writing of a stretch (a resumed mirror) supersedes the syncs at or
above its first sync's source offset, so a history is increasing in both offsets. At
``MAX_SYNCS_PER_PARTITION`` the sync whose removal leaves the smallest gap relative to
its distance from the newest goes, so recent positions stay dense and old ones sparse
(a group far behind gets a looser bound, a group near the head a tight one).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

#: Records of a partition between two syncs at most (beside the time bound): the bound
#: on re-reads of a translation, against one small record on the sync topic per this many.
SYNC_EVERY_RECORDS = 1_000
#: Longest a partition's newest copied position waits before it is synced: a group that
#: stopped reading at the head is translated exactly within this, while a busy partition
#: writes no more than one sync per this.
SYNC_EVERY_S = 1.0
#: Syncs kept per partition in memory when reading: enough that positions near the head
#: are dense, few enough that a long sync topic costs kilobytes per partition.
MAX_SYNCS_PER_PARTITION = 64


@dataclass(frozen=True, slots=True, order=True)
class OffsetSync:
    """Source offset ``source`` has a copy at target offset ``target``."""

    source: int
    target: int


@dataclass(frozen=True, slots=True)
class Translation:
    """Where a target consumer starts for a source position."""

    #: The target offset to start reading at.
    offset: int
    #: The group's records that a reader starting at ``offset`` may read again (see the
    #: module docstring for when this holds).
    rereads_at_most: int

    @property
    def exact(self) -> bool:
        return self.rereads_at_most == 0


class SyncHistory:
    """One partition's syncs, oldest first, increasing in both offsets (see the module)."""

    __slots__ = ("_capacity", "_sources", "_syncs")

    def __init__(self, capacity: int = MAX_SYNCS_PER_PARTITION) -> None:
        if capacity < 2:
            raise ValueError("a sync history keeps at least two syncs")
        self._capacity = capacity
        self._syncs: list[OffsetSync] = []
        self._sources: list[int] = []

    @property
    def syncs(self) -> tuple[OffsetSync, ...]:
        return tuple(self._syncs)

    def add(self, sync: OffsetSync) -> None:
        """Record ``sync``, the newest written: it supersedes kept syncs at or above its
        source offset (an older writing of that stretch) or its target offset."""
        while self._syncs and (
            self._syncs[-1].source >= sync.source or self._syncs[-1].target >= sync.target
        ):
            self._syncs.pop()
            self._sources.pop()
        self._syncs.append(sync)
        self._sources.append(sync.source)
        if len(self._syncs) > self._capacity:
            self._thin()

    def translate(self, committed: int) -> Translation | None:
        """The target position of source position ``committed`` (the next record to
        read); None when no sync is at or below it."""
        index = bisect_right(self._sources, committed) - 1
        if index < 0:
            return None
        sync = self._syncs[index]
        if sync.source == committed:
            return Translation(sync.target, 0)
        return Translation(sync.target + 1, committed - 1 - sync.source)

    def _thin(self) -> None:
        newest = self._syncs[-1].source
        syncs = self._syncs

        def cost(i: int) -> float:
            gap = syncs[i + 1].source - syncs[i - 1].source
            return gap / (newest - syncs[i - 1].source + 1)

        # The oldest and the newest always stay: they bound what can be translated.
        drop = min(range(1, len(syncs) - 1), key=cost)
        del self._syncs[drop]
        del self._sources[drop]


class SyncSchedule:
    """When the mirror writes a partition's sync: its run's last record, once
    ``every_records`` were copied or ``every_s`` passed since the last sync, and the
    first run of the partition the schedule sees (the mirror's first position)."""

    __slots__ = ("_every_records", "_every_s", "_last")

    def __init__(
        self, every_records: int = SYNC_EVERY_RECORDS, every_s: float = SYNC_EVERY_S
    ) -> None:
        self._every_records = every_records
        self._every_s = every_s
        #: Partition → (source offset, time) of its last sync.
        self._last: dict[object, tuple[int, float]] = {}

    def due(self, partition: object, source_offset: int, now: float) -> bool:
        last = self._last.get(partition)
        return (
            last is None
            or source_offset - last[0] >= self._every_records
            or source_offset < last[0]
            or now - last[1] >= self._every_s
        )

    def seen(self, partition: object) -> bool:
        """Whether ``partition`` was synced before (by this schedule)."""
        return partition in self._last

    def synced(self, partition: object, source_offset: int, now: float) -> None:
        self._last[partition] = (source_offset, now)
