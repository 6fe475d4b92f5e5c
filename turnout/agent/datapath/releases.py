"""Giving a partition up: a release (drain, final commit, owner node deleted) or a drop
(ownership already lost: nothing committed).

Per partition::

    held ──release: gate shut, drained, final commit, node deleted, unassigned──▶ gone
         (final commit failed: node kept, closed (its fetch paused by the reconcile's
          ``refresh_active``), retried at the next reconcile; with ``force`` (the stop's
          deadline) released anyway, and said so)
    held ──drop (session lost, shutdown's leftovers)──▶ gone, nothing committed
    held ──lose (a commit refused as stale, a re-stamp failed)──▶ dropped, and a sweep
         and a reconcile asked for: its owner node may still be this session's

The fetch is not paused before the drain: a pause waits for its turn on the consumer
behind a worker's poll, and the successor waits for the owner node, so any call made
before the delete lengthens the handover. The shut gate is enough: records of the
partition fetched meanwhile are dropped by routing (``RecordFeed``: not active) and the
next owner fetches them from the committed offset; the partition is unassigned once its
node is gone.

Failures: a delete whose outcome is unknown (connection lost) keeps the partition and
asks for a sweep and a reconcile; a node found no longer ours is reported and forgotten;
any other ZooKeeper error is raised after the batch, for the step's error handling.
"""

from __future__ import annotations

from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.datapath.commits import Commits
from turnout.agent.datapath.feed import RecordFeed
from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.ephemerals import delete_owner_nodes
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkBadVersionError, ZkError, ZkNoNodeError, ZkUnavailableError


class Releases:
    def __init__(
        self,
        context: DataPathContext,
        feed: RecordFeed,
        batcher: CommitBatcher,
        commits: Commits,
    ) -> None:
        self._feed = feed
        self._batcher = batcher
        self._commits = commits
        self._session = context.session
        self._requests = context.requests
        self._reports = context.reports
        self._metrics = context.metrics
        self._observer = context.observer
        self._log = context.log
        self._clock = context.environment.clock

    def release_many(self, tps: list[PartitionId], deadline: float, *, force: bool = False) -> None:
        """Shut the gate, drain, commit (one call for all), delete the owner nodes (one
        pipelined batch), then unassign (see the module for why not before). A partition
        whose final commit failed keeps its node and is retried at the next reconcile,
        unless ``force`` (shutdown), which releases it anyway and says so."""
        zk = self._session.gateway
        assert zk is not None
        feed = self._feed
        held = feed.held
        started = self._clock()
        feed.active = feed.active - set(tps)  # the gate: nothing of these starts now
        for tp in tps:
            holding = held[tp]
            if not holding.closed:
                point = feed.dispatcher.close_partition(tp, max(0.0, deadline - self._clock()))
                holding.closed = True
                if point is not None:
                    holding.latest = point

        def ahead(tp: PartitionId) -> bool:
            return self._batcher.ahead(tp, held[tp].latest)

        pending = {tp: held[tp] for tp in tps if ahead(tp)}
        if pending:
            for tp in self._commits.commit(pending):
                self.lose(tp)
        releasing: list[tuple[PartitionId, HeldPartition]] = []
        for tp in tps:
            holding_now = held.get(tp)
            if holding_now is None:
                continue  # lost while committing
            if ahead(tp):
                if not force:
                    self._requests.reconcile_soon()
                    continue
                self._reports.report_error(
                    f"{tp[0]}/{tp[1]} released without its final commit: the next owner "
                    f"replays from {self._batcher.committed(tp)}"
                )
            if self._observer is not None:
                claim = holding_now.claim
                self._observer.released(
                    claim.group, tp[0], tp[1], claim.epoch, holding_now.committed
                )
            releasing.append((tp, holding_now))
        if not releasing:
            return
        # Every final commit is done: delete the owner nodes together (pipelined), so the
        # successors' watches fire together rather than one round trip apart each.
        outcomes = delete_owner_nodes(
            zk, [(h.claim.owner_path, h.claim.owner_version) for _, h in releasing]
        )
        released: list[PartitionId] = []
        unexpected: ZkError | None = None
        for tp, holding_now in releasing:
            error = outcomes[holding_now.claim.owner_path]
            if isinstance(error, ZkNoNodeError | ZkBadVersionError):
                self._reports.report_error(
                    f"{tp[0]}/{tp[1]}: owner node was no longer ours at release"
                )
            elif isinstance(error, ZkUnavailableError):
                if not force:
                    self._requests.request_sweep()
                    self._requests.reconcile_soon()
                    continue
            elif error is not None:
                unexpected = unexpected or error
                continue
            released.append(tp)
        # Read before forgetting: the batcher forgets a partition's committed offset too.
        finals = {tp: self._batcher.committed(tp) for tp in released}
        self._forget(released)
        for tp in released:
            self._metrics.inc("partitions_released")
            self._metrics.release_seconds.observe(self._clock() - started)
            final = finals[tp]
            self._log.info(
                "released %s/%d at %s",
                tp[0],
                tp[1],
                final,
                extra={"event": "released", "topic": tp[0], "partition": tp[1], "offset": final},
            )
        if unexpected is not None:
            raise unexpected  # the step's error handling (node kept: retried, swept)

    def lose(self, tp: PartitionId) -> None:
        """Drop a partition found no longer ours while held (a commit refused, a re-stamp
        failed). Its owner node can still be this session's (the refusal came from the
        offset node, or the node changed through a write of ours whose reply was lost),
        and a claim takes a node of this session for another's and waits for it to go:
        the sweep deletes it if so, or the partition would stay unowned for good. The
        reconcile that sweeps comes at once rather than at the next resync."""
        self.drop(tp)
        self._metrics.inc("partitions_lost")
        self._requests.request_sweep()
        self._requests.reconcile_soon()

    def drop(self, tp: PartitionId) -> None:
        """Forget a partition without committing (ownership already lost)."""
        if not self._feed.held[tp].closed:
            self._feed.dispatcher.close_partition(tp, 0.0)
        self._forget([tp])

    def _forget(self, tps: list[PartitionId]) -> None:
        if not tps:
            return
        feed = self._feed
        for tp in tps:
            feed.held.pop(tp, None)
        feed.active = feed.active - set(tps)
        if feed.source is not None:
            feed.source.unassign(tps)  # one call: each is a round trip to librdkafka's thread
        for tp in tps:
            if feed.store is not None:
                feed.store.forget(tp)
            self._batcher.forget(tp)
        self._metrics.owned_partitions.set(len(feed.held))
        self._reports.mark_changed()
