"""The commit path: which partitions' progress to commit, and committing it.

Every ``COMMIT_CHECK_S`` at most the loop asks the dispatcher for each held partition's
commit point; when one partition's batch is due (``CommitBatcher``: interval or count),
every partition with progress goes along in the same store call (``commit_call``).

Failures: without a valid lease (or connection) nothing is committed and the points stay
pending; a store failure is counted, reported and retried at the next look; a partition
the store says is no longer ours is handed back to the caller, which drops it
(``Releases.lose``).
"""

from __future__ import annotations

from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.datapath.commit_call import commit_points
from turnout.agent.datapath.feed import RecordFeed
from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.dispatch import CommitPoint, CommitsOwnOffsets
from turnout.protocol.partitions import PartitionId

#: How often due commits are looked for: far below the commit interval (1 s) and the time
#: ``commit_every`` records of a partition take at full speed, so no commit is noticeably
#: late, yet at full speed the look is made every few polls, not every poll.
COMMIT_CHECK_S = 0.01


class Commits:
    def __init__(self, context: DataPathContext, feed: RecordFeed, batcher: CommitBatcher) -> None:
        self._feed = feed
        self._batcher = batcher
        self._session = context.session
        self._reports = context.reports
        self._metrics = context.metrics
        self._observer = context.observer
        self._env = context.environment
        self._clock = context.environment.clock
        self._checked_at = 0.0

    def commit_due(self) -> list[PartitionId]:
        """Commit the partitions whose batch is due (interval or count); the points are
        looked at every ``COMMIT_CHECK_S`` at most (each look takes the dispatcher's lock
        once per partition, which its workers contend for). Returns the partitions the
        store refused as no longer ours: the caller drops them."""
        feed = self._feed
        if not feed.held or not self._session.lease.valid():
            return []  # fenced: nothing may be committed (points stay pending)
        now = self._clock()
        if now - self._checked_at < COMMIT_CHECK_S:
            return []
        self._checked_at = now
        feed.update_pauses()
        due: dict[PartitionId, HeldPartition] = {}
        ahead: dict[PartitionId, HeldPartition] = {}
        for tp, held in feed.held.items():
            if held.closed or held.blocked:
                continue
            point = feed.dispatcher.commit_point(tp)
            if point is not None:
                held.latest = point
            if self._batcher.due(tp, held.latest):
                due[tp] = held
            elif self._batcher.ahead(tp, held.latest):
                ahead[tp] = held
        if not due:
            return []
        # A commit costs the loop one round trip whatever it carries: take along every
        # partition with progress, so partitions fed at the same rate share it.
        due.update(ahead)
        return self.commit(due)

    def commit(self, held: dict[PartitionId, HeldPartition]) -> list[PartitionId]:
        """Commit the latest points of ``held``. Refused without a valid lease; returns
        the partitions the store says are no longer ours (the caller drops them)."""
        dispatcher: object = self._feed.dispatcher
        if isinstance(dispatcher, CommitsOwnOffsets) and dispatcher.commits_offsets():
            return self._record_committed(held)
        store = self._feed.store
        assert store is not None
        lease = self._session.lease
        zk = self._session.gateway
        if not lease.valid() or not (zk and zk.connected):
            self._metrics.inc("stale_commits_refused", len(held))
            for tp in held:
                self._batcher.failed(tp)
            return []
        outcome = commit_points(
            store,
            {tp: (h.claim, h.latest) for tp, h in held.items() if h.latest is not None},
            lease_valid=lease.valid,
            observe_latency=self._metrics.commit_seconds.observe,
            sleep=self._env.sleep,
        )
        for tp, point in outcome.committed.items():
            self._committed(tp, held[tp], point)
        for tp, exc in outcome.stale.items():
            self._metrics.inc("stale_commits_refused")
            self._reports.report_error(f"commit of {tp[0]}/{tp[1]} refused: {exc}; dropping it")
        for tp, exc in outcome.failed.items():
            self._batcher.failed(tp)
            self._metrics.inc("commit_failures")
            self._reports.report_error(f"commit of {tp[0]}/{tp[1]} failed: {exc}")
        return list(outcome.stale)

    def _record_committed(self, held: dict[PartitionId, HeldPartition]) -> list[PartitionId]:
        """The work committed these points itself (in its transactions): record them."""
        for tp, holding in held.items():
            if holding.latest is not None:
                self._committed(tp, holding, holding.latest)
        return []

    def _committed(self, tp: PartitionId, holding: HeldPartition, point: CommitPoint) -> None:
        self._batcher.succeeded(tp, point)
        holding.committed = point.next_offset
        self._metrics.inc("commits")
        if self._observer is not None:
            claim = holding.claim
            self._observer.committed(claim.group, tp[0], tp[1], point.next_offset, claim.epoch)
