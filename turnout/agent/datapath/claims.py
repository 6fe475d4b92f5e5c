"""Taking partitions: owner nodes created, offsets read, records started; and keeping a
partition at a new epoch (its owner node re-stamped).

Per partition::

    (not held) ──owner node created, committed offset read──▶ held (active at once
                 unless the deployment is paused; blocked if nothing is committed and
                 the policy is error)
    (not held) ──node held by another live session──▶ waits for its watch (not asked
                 again until the node goes: ``WatchedOwnerNodes``)
    held ──new epoch, kept──▶ owner node re-stamped (node changed under us: lost)

Failures: a claim whose offset read fails deletes the nodes it created (or asks for a
sweep when even that fails) and asks for a new reconcile; a create whose outcome is
unknown is left to the sweep the step's error handling asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from turnout.agent.datapath.commit_batcher import CommitBatcher
from turnout.agent.datapath.feed import RecordFeed
from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.releases import Releases
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.datapath.watched_owner_nodes import WatchedOwnerNodes
from turnout.agent.ephemerals import OwnerNode, create_owners
from turnout.agent.offset_stores import Claim, StoredOffset
from turnout.protocol import Ownership
from turnout.protocol.partitions import PartitionId
from turnout.zk import WatchEvent, ZkBadVersionError, ZkError, ZkNoNodeError


class Claims:
    def __init__(
        self,
        context: DataPathContext,
        feed: RecordFeed,
        batcher: CommitBatcher,
        releases: Releases,
    ) -> None:
        self._feed = feed
        self._batcher = batcher
        self._releases = releases
        self._config = context.config
        self._paths = context.paths
        self._session = context.session
        self._requests = context.requests
        self._reports = context.reports
        self._metrics = context.metrics
        self._observer = context.observer
        self._log = context.log
        self._clock = context.environment.clock
        #: Owner nodes held by others with our watch on them: retries skip them.
        self._watched = WatchedOwnerNodes(clock=self._clock)

    def claim_many(
        self,
        tps: list[PartitionId],
        group: str,
        epoch: int,
        desired_since: Mapping[PartitionId, float],
        *,
        start_now: bool,
    ) -> None:
        """Create the owner nodes we can, read all their offsets in one go, start them:
        with ``start_now`` (the deployment is not paused) their records may start as soon
        as they are fetched (``RecordFeed.assign``)."""
        claims = self._create_owners(tps, group, epoch)
        if not claims:
            return
        feed = self._feed
        zk = self._session.gateway
        assert feed.store is not None and feed.source is not None and zk is not None
        try:
            committed = feed.store.on_claim(claims)
            starts = {c.tp: self._start_position(c.tp, committed.get(c.tp)) for c in claims}
        except Exception as exc:
            self._reports.report_error(
                f"claim of {len(claims)} partitions: reading offsets failed: {exc}"
            )
            for claim in claims:
                try:
                    zk.delete(claim.owner_path, version=claim.owner_version)
                except ZkError:
                    self._requests.request_sweep()
            self._requests.reconcile_soon()
            return
        now = self._clock()
        assign: list[tuple[PartitionId, int]] = []
        for claim in claims:
            tp = claim.tp
            start, skip, blocked = starts[tp]
            found = committed.get(tp)
            feed.held[tp] = HeldPartition(
                claim=claim,
                start_offset=start,
                next_fetch=start,
                committed=found.next_offset if found else None,
                blocked=blocked,
                claimed_at=now,
            )
            self._batcher.track(tp, start)
            if self._observer is not None:
                self._observer.claimed(claim.group, tp[0], tp[1], epoch, start)
            if blocked is None:
                assign.append((tp, start))
                feed.dispatcher.open_partition(tp, start, skip)
            else:
                self._reports.report_error(blocked)
            self._metrics.inc("partitions_claimed")
            since = desired_since.get(tp)
            if since is not None:
                self._metrics.handoff_seconds.observe(now - since)
            self._log.info(
                "claimed %s/%d at offset %d (epoch %d)",
                tp[0],
                tp[1],
                start,
                epoch,
                extra={"event": "claimed", "topic": tp[0], "partition": tp[1], "offset": start},
            )
        feed.assign(assign, start_now=start_now)

    def restamp(self, tp: PartitionId, epoch: int) -> None:
        """Rewrite a kept partition's owner node with the new epoch."""
        zk = self._session.gateway
        assert zk is not None
        held = self._feed.held[tp]
        try:
            stat = zk.set(
                held.claim.owner_path, self._ownership(epoch), version=held.claim.owner_version
            )
        except (ZkBadVersionError, ZkNoNodeError):
            self._reports.report_error(f"{tp[0]}/{tp[1]}: owner node changed under us; dropping it")
            self._releases.lose(tp)
            return
        held.claim = replace(
            held.claim,
            owner_version=stat.version,
            epoch=epoch,
            since_epoch=held.claim.began_at,
        )

    def forget_watches(self) -> None:
        """Watches are gone with the session: look at every pending claim again."""
        self._watched.reset()

    def _ownership(self, epoch: int) -> bytes:
        return Ownership(
            instance=self._config.instance,
            colour=self._config.colour,
            session_id=self._session.lease.session_id,
            epoch=epoch,
        ).to_bytes()

    def _create_owners(self, tps: list[PartitionId], group: str, epoch: int) -> list[Claim]:
        """Create the owner nodes of ``tps``; the claims made. A partition another
        session holds is skipped, and not asked about again until its deletion fires
        the watch set here."""
        zk = self._session.gateway
        assert zk is not None
        data = self._ownership(epoch)
        paths = {
            tp: path
            for tp in tps
            if self._watched.worth_trying(path := self._paths.owner(group, tp[0], tp[1]))
        }
        if not paths:
            return []  # every one still held by its owner; a watch will say when it goes
        self._watched.begin(paths.values())
        nodes = create_owners(
            zk,
            [(path, data) for path in paths.values()],
            self._session.old_sessions,
            self._on_owner_event,
        )
        claims: list[Claim] = []
        for tp, path in paths.items():
            node = nodes[path]
            if isinstance(node, OwnerNode):
                claims.append(
                    Claim(group, tp, node.path, node.version, epoch, self._config.instance)
                )
            elif node == "retry":
                self._requests.retry_claims()
            else:
                self._watched.held_elsewhere(path)
        return claims

    def _on_owner_event(self, event: WatchEvent) -> None:
        # kazoo's thread: only notes the node and flags a retry (never blocks).
        self._watched.freed(event.path)
        self._requests.retry_claims()

    def _start_position(
        self, tp: PartitionId, committed: StoredOffset | None
    ) -> tuple[int, frozenset[int], str | None]:
        source = self._feed.source
        assert source is not None
        if committed is not None:
            done = committed.metadata.done if committed.metadata else ()
            return committed.next_offset, frozenset(done), None
        policy = self._config.auto_offset_reset
        if policy == "error":
            return 0, frozenset(), f"{tp[0]}/{tp[1]} has no committed offset (reset policy: error)"
        low, high = source.watermarks(tp)
        return (low if policy == "earliest" else high), frozenset(), None
