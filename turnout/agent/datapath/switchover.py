"""Replacing the dispatcher under held partitions (new processing settings), at a safe point,
without giving any partition up.

The agent thread calls ``Switchover.switch`` between steps. Per held partition (not
closed by a release under way, not blocked)::

    open in the old dispatcher
      ──fetch paused; the old dispatcher closes it: nothing new starts, records running
        finish under the old settings (bounded by the drain deadline), the rest is
        dropped──▶ final point
      ──the final point committed (with every other moved partition's, one call)──▶
      ──opened in the new dispatcher at the point, its completed offsets past the point as
        the skip set; fetch sought to the point and resumed──▶ open in the new dispatcher

The owner node is never touched and the gate stays as it was: the partition is held (at
its epoch) throughout, and no peer sees a change. Nothing runs twice that completed: what
completed below the point is committed, what completed past it is skipped; what was
dropped (fetched, not started) is fetched again from the point. A record held by a
DO_NOT_COMMIT decision is at the point and runs again under the new settings, as a
successor would run it. Completed offsets past the point beyond the commit metadata's
budget (``CompletionTracker``'s trim) run again, as at any handover.

No worker fetches while partitions move (``RecordFeed.fetching_held``): a fetch routed to
the old dispatcher after its close would be dropped past ``next_fetch``. The old
dispatcher's workers that still try to fetch afterwards poll nothing
(``RecordFeed.fetch_once``), and it is closed (its threads and dead-letter producer) once
the new one runs.

Failures: a final commit that fails leaves the point pending in the batcher (retried at
the next due commit; the new dispatcher starts from the same point, so nothing is lost);
a partition the store says is no longer ours is lost (``Releases.lose``) and not opened;
a drain that runs out of time leaves the records still running to finish unheeded (their
results are discarded) and they run again in the new dispatcher, as at a release.
"""

from __future__ import annotations

from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.datapath.commits import Commits
from turnout.agent.datapath.feed import RecordFeed
from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.releases import Releases
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.dispatch import Dispatcher
from turnout.protocol.partitions import PartitionId


class Switchover:
    def __init__(
        self,
        context: DataPathContext,
        feed: RecordFeed,
        batcher: CommitBatcher,
        commits: Commits,
        releases: Releases,
    ) -> None:
        self._feed = feed
        self._batcher = batcher
        self._commits = commits
        self._releases = releases
        self._clock = context.environment.clock
        self._log = context.log

    def switch(self, new: Dispatcher, deadline: float) -> list[PartitionId]:
        """Move every open held partition from the current dispatcher to ``new`` (see the
        module), then close the old one by ``deadline``; the partitions moved."""
        feed = self._feed
        old = feed.dispatcher
        held = feed.held
        moving = [tp for tp, h in held.items() if not h.closed and h.blocked is None]
        with feed.fetching_held():
            if feed.source is not None and moving:
                feed.source.pause(moving)  # resumed, sought to the point, below
            for tp in moving:
                point = old.close_partition(tp, max(0.0, deadline - self._clock()))
                if point is not None:
                    held[tp].latest = point
            feed.dispatcher = new
            ahead = {tp: held[tp] for tp in moving if self._batcher.ahead(tp, held[tp].latest)}
            lost = set(self._commits.commit(ahead)) if ahead else set()
            for tp in lost:
                self._releases.lose(tp)
            moved = [tp for tp in moving if tp not in lost and tp in held]
            for tp in moved:
                self._open_in(new, tp, held[tp])
            feed.update_pauses()
        feed.delegate_fetching()
        old.close(max(0.0, deadline - self._clock()))
        return moved

    def _open_in(self, new: Dispatcher, tp: PartitionId, holding: HeldPartition) -> None:
        # ``latest`` is the old dispatcher's final point (or, if it did not know the
        # partition, the newest point it gave, or none: nothing completed since the claim).
        point = holding.latest
        start = point.next_offset if point is not None else holding.start_offset
        skip = frozenset(point.done_beyond) if point is not None else frozenset()
        holding.next_fetch = start
        new.open_partition(tp, start, skip)
