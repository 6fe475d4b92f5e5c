"""Which fetched offsets of a partition are complete: the highest contiguous commit point,
and what lies past it. (Not an offset *store*: those, in ``turnout/agent/offsets/``, keep
the committed point; this decides what it is.)

Pure bookkeeping, no locking: the work manager calls it under its shared lock.

Every offset the partition fetched is, from ``add`` on, in exactly one state:

    incomplete --complete--> done
    incomplete --hold------> held   (a DO_NOT_COMMIT failure decision)

``held`` is final for this ownership: a held offset never completes, so the commit point
never passes it whatever succeeds after it. The commit point is the lowest offset that is
incomplete or held (or the next offset to fetch if there is none). Offsets at or past the
commit point that are done are reported as ``done_beyond`` so a successor can skip them.

Memory: ``_ranges`` holds the offsets from the lowest *incomplete* one up to the newest
fetched one as ranges of consecutive offsets (done and held ones in between included); the
work manager bounds that span (``max_uncommitted_per_partition``), and ``_done`` holds at
most the done ones of it. Held offsets do not pin ``_ranges``: they live in ``_held``, so
a DO_NOT_COMMIT_AND_CONTINUE decision does not make memory grow with every record
processed after it; the offsets between a held offset and the ranges are all done and are
generated on demand.

Offsets absent from the log (compaction, transaction markers) are never fetched, so they
never block the commit point; when they fall between a held offset and the rest they are
listed as done, which is harmless: a successor never sees them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record, RecordRun, offsets_of
from turnout.protocol.models import MAX_COMMIT_METADATA_BYTES

#: Commit metadata is ``{"e":<epoch>,"i":"<instance>","d":[...]}``. An epoch has at most 20
#: digits and an instance name at most 200 characters (``validate_name``); 256 bytes covers
#: that and the JSON around it, leaving the rest of the broker's 4 KB for the ``d`` list.
COMMIT_METADATA_RESERVE_BYTES = 256
DEFAULT_DONE_BUDGET_BYTES = MAX_COMMIT_METADATA_BYTES - COMMIT_METADATA_RESERVE_BYTES


def trim_done(offsets: Iterator[int], budget_bytes: int) -> tuple[int, ...]:
    """The lowest ``offsets`` whose JSON list entries (digits plus a comma) fit the budget.

    The lowest are kept because a successor reprocesses from the commit point upwards: the
    offsets just past the gap are the first it would otherwise repeat.
    """
    kept: list[int] = []
    used = 0
    for offset in offsets:
        used += len(str(offset)) + 1
        if used > budget_bytes:
            break
        kept.append(offset)
    return tuple(kept)


class CompletionTracker:
    """Completion state of one partition from ``next_offset`` on (see the module docstring).

    The fetched offsets not yet passed are kept as ranges ``[start, stop)`` (a run of
    consecutive offsets is one range, however long), so that adding and completing a run
    fetched and finished in order costs the same for ten records or ten thousand.
    """

    __slots__ = ("_done", "_frontier", "_held", "_ranges", "_span", "version")

    def __init__(self, next_offset: int) -> None:
        #: Fetched offsets from the lowest incomplete one on, ascending, as [start, stop)
        #: ranges (lists, so the head's start moves in place).
        self._ranges: deque[list[int]] = deque()
        #: How many offsets the ranges hold.
        self._span = 0
        #: Offsets in the ranges that are done or held.
        self._done: set[int] = set()
        self._held: set[int] = set()
        #: The next offset expected from the log: every fetched offset is below it.
        self._frontier = next_offset
        #: Grows with every change of state, so callers can tell "nothing new" cheaply.
        self.version = 0

    @property
    def frontier(self) -> int:
        return self._frontier

    @property
    def span(self) -> int:
        """How many offsets are remembered between the lowest incomplete one and the newest."""
        return self._span

    def add(self, offset: int) -> bool:
        """Register a fetched offset; False (and ignored) if it is not past every earlier one."""
        if offset < self._frontier:
            return False
        self._append(offset, offset + 1)
        return True

    def add_range(self, first: int, count: int) -> None:
        """``add`` the consecutive offsets ``first .. first + count - 1``, which the caller
        guarantees start at or past the frontier (the consume loop's runs do)."""
        self._append(first, first + count)

    def add_run(self, offsets: list[int]) -> None:
        """``add`` each of ``offsets``, which the caller guarantees ascend from the frontier
        on (a run with gaps: compaction, transaction markers)."""
        for offset in offsets:
            self._append(offset, offset + 1)

    def add_records(self, records: Sequence[Record]) -> None:
        """``add`` fetched ``records`` (ascending, past the frontier): one range for a run
        of consecutive offsets, whatever its length; no record of a ``RecordRun`` is built."""
        first = records.consecutive_from if type(records) is RecordRun else None
        if first is not None:
            self._append(first, first + len(records))
        else:
            self.add_run(offsets_of(records))

    def _append(self, start: int, stop: int) -> None:
        ranges = self._ranges
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = stop
        else:
            ranges.append([start, stop])
        self._span += stop - start
        self._frontier = stop

    def complete(self, offset: int) -> None:
        ranges = self._ranges
        if ranges and ranges[0][0] == offset:
            self._pass(1)
        else:
            self._done.add(offset)
        self.version += 1

    def complete_range(self, first: int, count: int) -> None:
        """``complete`` the consecutive offsets ``first .. first + count - 1``."""
        ranges = self._ranges
        if ranges and ranges[0][0] == first and first + count <= ranges[0][1]:
            # The usual case (a run finished in order): they are the lowest incomplete ones.
            self._pass(count)
            self.version += 1
        else:
            for offset in range(first, first + count):
                self.complete(offset)

    def complete_all(self, offsets: list[int]) -> None:
        """``complete`` each of ``offsets`` (ascending): as one range when they are
        consecutive (ascending, and as many as their span)."""
        if offsets and offsets[-1] - offsets[0] + 1 == len(offsets):
            self.complete_range(offsets[0], len(offsets))
            return
        for offset in offsets:
            self.complete(offset)

    def complete_records(self, records: Sequence[Record]) -> None:
        """``complete`` every one of ``records`` (ascending)."""
        first = records.consecutive_from if type(records) is RecordRun else None
        if first is not None:
            self.complete_range(first, len(records))
        else:
            self.complete_all(offsets_of(records))

    def _pass(self, count: int) -> None:
        """Move the front ``count`` offsets on (they are complete), then past any offsets
        already done there."""
        ranges = self._ranges
        self._span -= count
        head = ranges[0]
        while count:
            left = head[1] - head[0]
            if count < left:
                head[0] += count
                break
            count -= left
            ranges.popleft()
            if not ranges:
                break
            head = ranges[0]
        done = self._done
        while done and ranges:
            head = ranges[0]
            if head[0] not in done:
                break
            done.discard(head[0])
            self._span -= 1
            head[0] += 1
            if head[0] == head[1]:
                ranges.popleft()

    def hold(self, offset: int) -> None:
        """Pin the commit point at ``offset`` for as long as this tracker lives."""
        self._held.add(offset)
        self.complete(offset)

    def point(self, budget_bytes: int = DEFAULT_DONE_BUDGET_BYTES) -> CommitPoint:
        ranges = self._ranges
        low = ranges[0][0] if ranges else self._frontier
        if not self._held and not self._done:
            return CommitPoint(low)  # the usual case: nothing complete past the gap
        next_offset = min(low, min(self._held)) if self._held else low
        return CommitPoint(next_offset, trim_done(self._done_from(next_offset, low), budget_bytes))

    def _done_from(self, next_offset: int, low: int) -> Iterator[int]:
        held = self._held
        # Between the lowest held offset and the lowest incomplete one everything is done.
        for offset in range(next_offset, low):
            if offset not in held:
                yield offset
        done = self._done
        for start, stop in self._ranges:
            for offset in range(start, stop):
                if offset in done and offset not in held:
                    yield offset
