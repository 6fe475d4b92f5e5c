"""Per-partition completion tracking: the highest contiguous commit point, and what lies past it.

Pure bookkeeping, no locking: the work manager calls it under its own lock.

Every offset the partition fetched is, from ``add`` on, in exactly one state:

    incomplete --complete--> done
    incomplete --hold------> held   (a DO_NOT_COMMIT failure decision)

``held`` is final for this ownership: a held offset never completes, so the commit point
never passes it whatever succeeds after it. The commit point is the lowest offset that is
incomplete or held (or the next offset to fetch if there is none). Offsets at or past the
commit point that are done are reported as ``done_beyond`` so a successor can skip them.

Memory: ``_order`` holds the offsets from the lowest *incomplete* one up to the newest
fetched one (done and held ones in between included; completed ones before it are cut off
in bulk, see ``COMPACT_AFTER``); the work manager bounds that span
(``max_uncommitted_per_partition``). Held offsets do not pin ``_order``: they live in
``_held``, so a DO_NOT_COMMIT_AND_CONTINUE decision does not make memory grow with every
record processed after it; the offsets between a held offset and ``_order`` are all done
and are generated on demand.

Offsets absent from the log (compaction, transaction markers) are never fetched, so they
never block the commit point; when they fall between a held offset and the rest they are
listed as done, which is harmless: a successor never sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from turnout.agent.dispatch import CommitPoint
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


#: Completed offsets at the front of ``_order`` are skipped by moving ``_head``; they are cut
#: off the list once at least this many (and half the list) are behind it, so a long run of
#: completions costs one list move per this many offsets, not one pop each.
COMPACT_AFTER = 1024


class OffsetTracker:
    """Completion state of one partition from ``next_offset`` on (see the module docstring)."""

    __slots__ = ("_done", "_frontier", "_head", "_held", "_order", "version")

    def __init__(self, next_offset: int) -> None:
        #: Fetched offsets in ascending order; those before ``_head`` are complete.
        self._order: list[int] = []
        self._head = 0
        #: Offsets in ``_order`` past ``_head`` that are done or held.
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
        return len(self._order) - self._head

    def add(self, offset: int) -> bool:
        """Register a fetched offset; False (and ignored) if it is not past every earlier one."""
        if offset < self._frontier:
            return False
        self._order.append(offset)
        self._frontier = offset + 1
        return True

    def add_run(self, offsets: list[int]) -> None:
        """``add`` each of ``offsets``, which the caller guarantees ascend from the frontier
        on (the consume loop's runs do): one call per run of records."""
        self._order.extend(offsets)
        self._frontier = offsets[-1] + 1

    def complete(self, offset: int) -> None:
        order = self._order
        head = self._head
        if head < len(order) and order[head] == offset:
            self._advance(head + 1)
        else:
            self._done.add(offset)
        self.version += 1

    def complete_all(self, offsets: list[int]) -> None:
        """``complete`` each of ``offsets`` (ascending): one call per run of records."""
        order = self._order
        head = self._head
        end = head + len(offsets)
        if order[head:end] == offsets:
            # The usual case (a run finished in order): they are the lowest incomplete ones.
            self._advance(end)
        else:
            done = self._done
            for offset in offsets:
                if head < len(order) and order[head] == offset:
                    head += 1
                    while head < len(order) and order[head] in done:
                        done.discard(order[head])
                        head += 1
                else:
                    done.add(offset)
            self._advance(head)
        self.version += 1

    def _advance(self, head: int) -> None:
        """Move the front to ``head``, past any offsets already done there."""
        order = self._order
        done = self._done
        if done:
            while head < len(order) and order[head] in done:
                done.discard(order[head])
                head += 1
        if head >= COMPACT_AFTER and head * 2 >= len(order):
            del order[:head]
            head = 0
        self._head = head

    def hold(self, offset: int) -> None:
        """Pin the commit point at ``offset`` for as long as this tracker lives."""
        self._held.add(offset)
        self.complete(offset)

    def point(self, budget_bytes: int = DEFAULT_DONE_BUDGET_BYTES) -> CommitPoint:
        order = self._order
        head = self._head
        low = order[head] if head < len(order) else self._frontier
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
        for offset in islice(self._order, self._head, None):
            if offset in done and offset not in held:
                yield offset
