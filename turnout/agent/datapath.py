"""The agent's partition data path: the partitions it holds, from claim to release.

Owns the Kafka consumer and offset store of the current binding, the held partitions
(``Holding``), the ownership gate's set of active partitions, fetch pausing, record
routing to the dispatcher, commit batching, and the release-then-claim handoff of one
partition (owner node, offsets, drain, final commit). The agent (``runtime.py``) decides
*which* partitions to hold; this module carries it out. Everything here runs on the agent
thread, except ``active``, which the dispatcher's workers read through the agent's gate.

Per partition::

    (not held) ──claim: owner node created, offset read──▶ held, active
                                    (or held, blocked: no committed offset, policy error)
    held ──directive paused / fenced / dispatcher full──▶ fetch paused (still held)
    held ──new epoch, kept──▶ owner node re-stamped (node changed under us: dropped)
    held ──release: gate shut, fetch paused, drained, final commit, node deleted──▶ gone
         (final commit failed: node kept, retried at the next reconcile; forced at stop)
    held ──drop (session lost, commit refused as stale)──▶ gone, nothing committed

Failures: a claim whose offset read fails deletes the nodes it created (or asks for a
sweep) and asks for a new reconcile; a commit failure is counted, reported through
``host.error`` and retried at the next batch.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Set
from dataclasses import replace
from itertools import groupby
from typing import Protocol

from confluent_kafka import Message

from turnout.agent.busy import BusyOwners
from turnout.agent.commits import CommitBatcher
from turnout.agent.committer import commit_points
from turnout.agent.config import AgentConfig
from turnout.agent.dispatch import Dispatcher, FetchingDispatcher
from turnout.agent.environment import AgentEnvironment
from turnout.agent.holding import Holding
from turnout.agent.kafka_source import KafkaSource
from turnout.agent.lease import Lease, LeaseState
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.agent.offset_stores import (
    Claim,
    KafkaOffsetStore,
    OffsetStore,
    StoredOffset,
    ZkOffsetStore,
)
from turnout.agent.records import RecordRun
from turnout.agent.znodes import OwnerNode, create_owners, delete_owner_nodes
from turnout.protocol import DeploymentPaths, Ownership
from turnout.protocol.partitions import PartitionId
from turnout.zk import (
    WatchEvent,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNoNodeError,
    ZkUnavailableError,
)

#: Longest a Kafka poll blocks the agent thread: bounds the reaction time to ZooKeeper
#: events and lease changes.
POLL_TIMEOUT_S = 0.025
#: A worker fetching for the loop (``fetch_once``) waits this long for a first record
#: when nothing is queued. The agent's thread waits for its turn on the consumer (a
#: release's pause and final commit, a claim's assign) behind such a wait at most.
FETCH_POLL_TIMEOUT_S = 0.005
#: How often due commits are looked for: far below the commit interval (1 s) and the time
#: ``commit_every`` records of a partition take at full speed (~160 ms), so no commit is
#: noticeably late, yet at full speed the look is made every few polls, not every poll.
COMMIT_CHECK_S = 0.01
#: How often the lag gauge gets fresh high watermarks: it is read at scrape time (seconds
#: apart), and each refresh costs a librdkafka call per held partition.
LAG_REFRESH_S = 0.5

_partition_of = Message.partition
_offset_of = Message.offset


def _topic_partition_of(message: Message) -> tuple[str | None, int | None]:
    return message.topic(), message.partition()


def partition_runs(messages: list[Message]) -> Iterator[tuple[int, list[Message]]]:
    """Split one topic's polled messages into runs of one partition, in poll order (a
    fetch returns each partition's records together, in offset order; a partition may
    come back later in the same poll). Per record this reads only the partition, with
    C-level ``map``, ``count`` and ``groupby``: most polls are a single partition's run
    (librdkafka hands out one fetch response at a time), told by one ``count``."""
    partitions: list[int] = list(map(_partition_of, messages))  # type: ignore[arg-type]
    first = partitions[0]
    if partitions.count(first) == len(partitions):
        yield first, messages
        return
    start = 0
    for partition, same in groupby(partitions):
        stop = start + len(list(same))
        yield partition, messages[start:stop]
        start = stop


def run_from(
    messages: list[Message], next_fetch: int, tp: PartitionId, epoch: int
) -> RecordRun | None:
    """The records of a run of ``tp``'s messages (ascending offsets) past ``next_fetch``
    (what was routed before: a seek may fetch some again); None if nothing is new."""
    first: int = messages[0].offset()  # type: ignore[assignment]
    last: int = messages[-1].offset()  # type: ignore[assignment]
    if last < next_fetch:
        return None
    if last - first == len(messages) - 1:
        # Ascending, so consecutive: no list of offsets is needed.
        if first < next_fetch:
            messages = messages[next_fetch - first :]
            first = next_fetch
        return RecordRun.consecutive(messages, first, tp[0], tp[1], epoch)
    # Gaps (compaction, transaction markers): the run keeps its offsets.
    offsets: list[int] = list(map(_offset_of, messages))  # type: ignore[arg-type]
    if first < next_fetch:
        start = bisect_left(offsets, next_fetch)
        messages, offsets = messages[start:], offsets[start:]
    return RecordRun(messages, offsets, tp[0], tp[1], epoch)


class DataPathHost(Protocol):
    """What the data path needs from the agent around it (called on the agent thread,
    except ``retry_claims``, which a watch callback calls on kazoo's thread)."""

    @property
    def zk(self) -> ZkGateway | None:
        """The current ZooKeeper gateway (None before the first connect, after stop)."""

    @property
    def lease(self) -> Lease:
        """The session's lease: no commit, claim stamp or fetch without a valid one."""

    @property
    def old_sessions(self) -> Set[int]:
        """Earlier sessions of this agent, whose leftover owner nodes may be replaced."""

    def error(self, message: str) -> None:
        """Record a problem (log, ``status().errors``)."""

    def mark_dirty(self) -> None:
        """Ask for a reconcile soon (something could not be finished now)."""

    def retry_claims(self) -> None:
        """Ask for the pending claims to be tried again (an owner node went away)."""

    def request_sweep(self) -> None:
        """Owner nodes may exist that this session created but does not track."""

    def status_changed(self) -> None:
        """What the status znode shows has changed."""


class DataPath:
    """The partitions this agent holds, their consumer, offsets and dispatcher."""

    def __init__(
        self,
        config: AgentConfig,
        paths: DeploymentPaths,
        host: DataPathHost,
        metrics: AgentMetrics,
        observer: AgentObserver | None,
        log: ContextLog,
        environment: AgentEnvironment,
    ) -> None:
        self._config = config
        self._env = environment
        self._clock = environment.clock
        self._paths = paths
        self._host = host
        self._metrics = metrics
        self._observer = observer
        self._log = log
        self._batcher = CommitBatcher(config.commit_interval_s, config.commit_every, self._clock)
        #: Owner nodes held by others with our watch on them: retries skip them.
        self._busy = BusyOwners(clock=self._clock)
        self.source: KafkaSource | None = None
        self.store: OffsetStore | None = None
        self.dispatcher: Dispatcher | None = None
        self.held: dict[PartitionId, Holding] = {}
        #: Partitions whose records may start now (owned, claimed, not releasing/paused).
        self.active: frozenset[PartitionId] = frozenset()
        #: When the lag gauge last got high watermarks (``pump``).
        self._lag_fed_at = 0.0
        self._commit_checked_at = 0.0
        #: The dispatcher's workers fetch (``delegate_fetching``); the agent's loop then
        #: only tends the fetch (pauses, lag) and does the rest of its duties.
        self.fetch_delegated = False
        #: Held by a worker while it polls and routes; taken by this thread to replace or
        #: close the consumer under it.
        self._fetch_lock = threading.Lock()
        #: Set when partitions are assigned: a worker with nothing to fetch waits on it.
        self._fetchable = threading.Event()

    # ---- the consumer -------------------------------------------------------------------

    def delegate_fetching(self) -> None:
        """Let the dispatcher fetch on its own threads, if it can (``FetchingDispatcher``)."""
        dispatcher: object = self.dispatcher  # an optional capability of any Dispatcher
        if isinstance(dispatcher, FetchingDispatcher):
            self.fetch_delegated = dispatcher.take_over_fetching(self.fetch_once)

    def open_source(self, group: str) -> None:
        """Open the Kafka consumer (and offset store) of ``group``."""
        with self._fetch_lock:
            self.source = self._env.new_source(self._config, group)
        if self._config.offset_store == "kafka":
            self.store = KafkaOffsetStore(self.source)
        else:
            zk = self._host.zk
            assert zk is not None
            self.store = ZkOffsetStore(zk, self._paths)

    def retire_source(self) -> bool:
        """Close the consumer if nothing is held any more; True if it was closed."""
        if self.source is not None and not self.held:
            with self._fetch_lock:
                self.source.close()
                self.source = None
            self.store = None
            return True
        return False

    def close_source(self) -> None:
        """Close the consumer whatever is held (shutdown); a failure is only logged."""
        if self.source is not None:
            with self._fetch_lock:
                try:
                    self.source.close()
                except Exception as exc:
                    self._log.warning("Kafka consumer close failed: %s", exc)
                self.source = None

    # ---- the gate -----------------------------------------------------------------------

    def refresh_active(self, desired: Set[PartitionId], paused: bool) -> None:
        """Open the gate for held partitions that are desired, claimed and not paused."""
        self.active = frozenset(
            tp
            for tp, h in self.held.items()
            if tp in desired and not h.closed and h.blocked is None and not paused
        )
        self.update_pauses()

    def update_pauses(self) -> None:
        """Pause the fetch of partitions that may not start records or have enough."""
        if self.source is None or self.dispatcher is None:
            return
        fenced = self._host.lease.state() is not LeaseState.VALID
        must = {tp for tp in self.held if fenced or tp not in self.active}
        if self.dispatcher.has_room():
            wants_more = self.dispatcher.wants_more
            wanted = must | {tp for tp in self.held if tp not in must and not wants_more(tp)}
        else:
            # The dispatcher is full: ``pump`` stops polling instead. Pauses stay as they
            # are (none is added for being full), so nothing prefetched is dropped.
            wanted = must | (self.source.paused & self.held.keys())
        # Every partition resumed is sought to where routing expects its next record
        # (not only those that dropped fetched records): the seek is also what wakes
        # librdkafka's idle fetcher (``KafkaSource.set_paused``).
        held = self.held
        seek = {tp: held[tp].next_fetch for tp in self.source.paused - wanted if tp in held}
        self.source.set_paused(wanted, seek)
        for tp in seek:
            held[tp].needs_seek = False

    # ---- claim, re-stamp, release, drop -------------------------------------------------

    def claim_many(
        self,
        tps: list[PartitionId],
        group: str,
        epoch: int,
        desired_since: Mapping[PartitionId, float],
    ) -> None:
        """Create the owner nodes we can, read all their offsets in one go, start them."""
        claims = self._create_owners(tps, group, epoch)
        if not claims:
            return
        zk = self._host.zk
        assert self.store is not None and self.source is not None
        assert self.dispatcher is not None and zk is not None
        try:
            committed = self.store.on_claim(claims)
            starts = {c.tp: self._start_position(c.tp, committed.get(c.tp)) for c in claims}
        except Exception as exc:
            self._host.error(f"claim of {len(claims)} partitions: reading offsets failed: {exc}")
            for claim in claims:
                try:
                    zk.delete(claim.owner_path, version=claim.owner_version)
                except ZkError:
                    self._host.request_sweep()
            self._host.mark_dirty()
            return
        now = self._clock()
        assign: list[tuple[PartitionId, int]] = []
        for claim in claims:
            tp = claim.tp
            start, skip, blocked = starts[tp]
            found = committed.get(tp)
            self.held[tp] = Holding(
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
                self.dispatcher.open_partition(tp, start, skip)
            else:
                self._host.error(blocked)
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
        self.source.assign(assign)
        self._fetchable.set()

    def _ownership(self, epoch: int) -> bytes:
        return Ownership(
            instance=self._config.instance,
            colour=self._config.colour,
            session_id=self._host.lease.session_id,
            epoch=epoch,
        ).to_bytes()

    def _create_owners(self, tps: list[PartitionId], group: str, epoch: int) -> list[Claim]:
        """Create the owner nodes of ``tps``; the claims made. A partition another
        session holds is skipped, and not asked about again until its deletion fires
        the watch set here (``BusyOwners``)."""
        zk = self._host.zk
        assert zk is not None
        data = self._ownership(epoch)
        paths = {
            tp: path
            for tp in tps
            if self._busy.worth_trying(path := self._paths.owner(group, tp[0], tp[1]))
        }
        if not paths:
            return []  # every one still held by its owner; a watch will say when it goes
        self._busy.begin(paths.values())
        nodes = create_owners(
            zk,
            [(path, data) for path in paths.values()],
            self._host.old_sessions,
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
                self._host.retry_claims()
            else:
                self._busy.mark_busy(path)
        return claims

    def _on_owner_event(self, event: WatchEvent) -> None:
        # kazoo's thread: only notes the node and flags a retry (never blocks).
        self._busy.freed(event.path)
        self._host.retry_claims()

    def forget_busy(self) -> None:
        """Watches are gone with the session: look at every pending claim again."""
        self._busy.reset()

    def _start_position(
        self, tp: PartitionId, committed: StoredOffset | None
    ) -> tuple[int, frozenset[int], str | None]:
        assert self.source is not None
        if committed is not None:
            done = committed.metadata.done if committed.metadata else ()
            return committed.next_offset, frozenset(done), None
        policy = self._config.auto_offset_reset
        if policy == "error":
            return 0, frozenset(), f"{tp[0]}/{tp[1]} has no committed offset (reset policy: error)"
        low, high = self.source.watermarks(tp)
        return (low if policy == "earliest" else high), frozenset(), None

    def restamp(self, tp: PartitionId, epoch: int) -> None:
        """Rewrite a kept partition's owner node with the new epoch."""
        zk = self._host.zk
        assert zk is not None
        held = self.held[tp]
        try:
            stat = zk.set(
                held.claim.owner_path, self._ownership(epoch), version=held.claim.owner_version
            )
        except (ZkBadVersionError, ZkNoNodeError):
            self._host.error(f"{tp[0]}/{tp[1]}: owner node changed under us; dropping it")
            self._lose(tp)
            return
        held.claim = replace(held.claim, owner_version=stat.version, epoch=epoch)

    def release_many(self, tps: list[PartitionId], deadline: float, *, force: bool = False) -> None:
        """Drain, commit (one call for all), then delete the owner nodes. A partition
        whose final commit failed keeps its node and is retried at the next reconcile,
        unless ``force`` (shutdown), which releases it anyway and says so."""
        zk = self._host.zk
        assert zk is not None and self.dispatcher is not None
        started = self._clock()
        self.active = self.active - set(tps)
        if self.source is not None:
            self.source.pause(tps)
        for tp in tps:
            held = self.held[tp]
            if not held.closed:
                point = self.dispatcher.close_partition(tp, max(0.0, deadline - self._clock()))
                held.closed = True
                if point is not None:
                    held.latest = point

        def ahead(tp: PartitionId) -> bool:
            latest = self.held[tp].latest
            return latest is not None and latest.next_offset > (self._batcher.committed(tp) or 0)

        pending = {tp: self.held[tp] for tp in tps if ahead(tp)}
        if pending:
            self.commit(pending)
        releasing: list[tuple[PartitionId, Holding]] = []
        for tp in tps:
            held_now = self.held.get(tp)
            if held_now is None:
                continue  # lost while committing
            if ahead(tp):
                if not force:
                    self._host.mark_dirty()
                    continue
                self._host.error(
                    f"{tp[0]}/{tp[1]} released without its final commit: the next owner "
                    f"replays from {self._batcher.committed(tp)}"
                )
            if self._observer is not None:
                claim = held_now.claim
                self._observer.released(claim.group, tp[0], tp[1], claim.epoch, held_now.committed)
            releasing.append((tp, held_now))
        if not releasing:
            return
        # Every final commit is done: delete the owner nodes together (pipelined), so the
        # successors' watches fire together rather than one round trip apart each.
        outcomes = delete_owner_nodes(
            zk, [(h.claim.owner_path, h.claim.owner_version) for _, h in releasing]
        )
        released: list[PartitionId] = []
        unexpected: ZkError | None = None
        for tp, held_now in releasing:
            error = outcomes[held_now.claim.owner_path]
            if isinstance(error, ZkNoNodeError | ZkBadVersionError):
                self._host.error(f"{tp[0]}/{tp[1]}: owner node was no longer ours at release")
            elif isinstance(error, ZkUnavailableError):
                if not force:
                    self._host.request_sweep()
                    self._host.mark_dirty()
                    continue
            elif error is not None:
                unexpected = unexpected or error
                continue
            released.append(tp)
        self._forget_many(released)
        for tp in released:
            self._metrics.inc("partitions_released")
            self._metrics.release_seconds.observe(self._clock() - started)
            final = self._batcher.committed(tp)
            self._log.info(
                "released %s/%d at %s",
                tp[0],
                tp[1],
                final,
                extra={"event": "released", "topic": tp[0], "partition": tp[1], "offset": final},
            )
        if unexpected is not None:
            raise unexpected  # the step's error handling (node kept: retried, swept)

    def _lose(self, tp: PartitionId) -> None:
        """Drop a partition found no longer ours while held (a commit refused, a re-stamp
        failed). Its owner node can still be this session's (the refusal came from the
        offset node, or the node changed through a write of ours whose reply was lost),
        and a claim takes a node of this session for another's and waits for it to go:
        the sweep deletes it if so, or the partition would stay unowned for good. The
        reconcile that sweeps comes at once rather than at the next resync."""
        self.drop(tp)
        self._metrics.inc("partitions_lost")
        self._host.request_sweep()
        self._host.mark_dirty()

    def drop(self, tp: PartitionId) -> None:
        """Forget a partition without committing (ownership already lost)."""
        if self.dispatcher is not None and not self.held[tp].closed:
            self.dispatcher.close_partition(tp, 0.0)
        self._forget(tp)

    def _forget(self, tp: PartitionId) -> None:
        self._forget_many([tp])

    def _forget_many(self, tps: list[PartitionId]) -> None:
        if not tps:
            return
        for tp in tps:
            self.held.pop(tp, None)
        self.active = self.active - set(tps)
        if self.source is not None:
            self.source.unassign(tps)  # one call: each is a round trip to librdkafka's thread
        for tp in tps:
            if self.store is not None:
                self.store.forget(tp)
            self._batcher.forget(tp)
        self._metrics.owned_partitions.set(len(self.held))
        self._host.status_changed()

    # ---- records ------------------------------------------------------------------------

    def fetch_once(self) -> bool:
        """Poll Kafka once (bounded by ``POLL_TIMEOUT_S``) and route what came; True if
        anything came. The dispatcher's worker calls it when fetching is delegated; with
        nothing assigned it waits (as long) for a claim instead."""
        with self._fetch_lock:
            source = self.source
            if source is not None and source.has_assignment:
                messages = source.poll(FETCH_POLL_TIMEOUT_S)
                if messages:
                    self._route_batch(messages)
                return bool(messages)
        self._fetchable.wait(POLL_TIMEOUT_S)
        self._fetchable.clear()
        return False

    def tend(self) -> None:
        """The loop's share of fetching when a dispatcher fetches: pauses and the lag feed."""
        if self.source is None or self.dispatcher is None:
            return
        self.update_pauses()
        self._maybe_feed_lag()

    def pump(self) -> None:
        """Poll Kafka once (bounded by ``POLL_TIMEOUT_S``) and route what came, one run of
        consecutive records of a partition at a time; now and then, feed the lag gauge."""
        if self.source is None or self.dispatcher is None:
            return
        if self.dispatcher.has_room():
            messages = self.source.poll(POLL_TIMEOUT_S)
            if messages:
                self._route_batch(messages)
                self.update_pauses()
        else:
            # Full: what Kafka sent waits in the client's bounded queue, and the workers
            # wake the loop as soon as there is room (or after a poll's timeout, which
            # bounds the loop's reaction to everything else, as an idle poll does). Not
            # polling for long is safe: partitions are assigned, not subscribed, so
            # librdkafka enforces no max.poll.interval.ms (librdkafka#2781).
            self.dispatcher.wait_for_room(POLL_TIMEOUT_S)
        self._maybe_feed_lag()

    def _maybe_feed_lag(self) -> None:
        now = self._clock()
        if now - self._lag_fed_at >= LAG_REFRESH_S:
            self._lag_fed_at = now
            self._feed_lag()

    def _route_batch(self, messages: list[Message]) -> None:
        """Route a poll's messages, one run of consecutive records of a partition at a
        time (``partition_runs``)."""
        source = self.source
        if source is not None and source.topics_assigned > 1:
            # Two topics may share a partition number: split on both.
            for (topic, partition), same in groupby(messages, _topic_partition_of):
                if topic is not None and partition is not None:
                    self._route((topic, partition), list(same))
            return
        topic = messages[0].topic()
        if topic is not None:
            for partition, run in partition_runs(messages):
                self._route((topic, partition), run)

    def _route(self, tp: PartitionId, messages: list[Message]) -> None:
        """Submit a run of ``tp``'s messages (ascending offsets) as one ``submit_run``."""
        assert self.dispatcher is not None
        held = self.held.get(tp)
        if held is None or tp not in self.active:
            if held is not None:
                held.needs_seek = True
            self._metrics.inc("records_dropped", len(messages))
            return
        run = run_from(messages, held.next_fetch, tp, held.claim.epoch)
        if run is not None:
            held.next_fetch = messages[-1].offset() + 1  # type: ignore[operator]
            self.dispatcher.submit_run(tp, run)

    def _feed_lag(self) -> None:
        """Give the dispatcher each routed partition's high watermark as of its last
        fetch (cached by librdkafka with every fetch response: no request is made)."""
        assert self.source is not None and self.dispatcher is not None
        for tp in self.active:
            high = self.source.cached_high_watermark(tp)
            if high is not None:
                self.dispatcher.set_high_watermark(tp, high)

    # ---- commits ------------------------------------------------------------------------

    def commit_due(self) -> None:
        """Commit the partitions whose batch is due (interval or count); the points are
        looked at every ``COMMIT_CHECK_S`` at most (each look takes the dispatcher's lock
        once per partition, which its workers contend for)."""
        if self.dispatcher is None or not self.held or not self._host.lease.valid():
            return  # fenced: nothing may be committed (points stay pending)
        now = self._clock()
        if now - self._commit_checked_at < COMMIT_CHECK_S:
            return
        self._commit_checked_at = now
        self.update_pauses()
        due: dict[PartitionId, Holding] = {}
        ahead: dict[PartitionId, Holding] = {}
        for tp, held in self.held.items():
            if held.closed or held.blocked:
                continue
            point = self.dispatcher.commit_point(tp)
            if point is not None:
                held.latest = point
            if self._batcher.due(tp, held.latest):
                due[tp] = held
            elif self._batcher.ahead(tp, held.latest):
                ahead[tp] = held
        if due:
            # A commit costs the loop one round trip whatever it carries: take along every
            # partition with progress, so partitions fed at the same rate share it.
            due.update(ahead)
            self.commit(due)

    def commit(self, held: dict[PartitionId, Holding]) -> bool:
        """Commit the latest points of ``held``; True if all succeeded. Refused without a
        valid lease; a partition the store says is no longer ours is dropped."""
        assert self.store is not None
        lease = self._host.lease
        zk = self._host.zk
        if not lease.valid() or not (zk and zk.connected):
            self._metrics.inc("stale_commits_refused", len(held))
            for tp in held:
                self._batcher.failed(tp)
            return False
        outcome = commit_points(
            self.store,
            {tp: (h.claim, h.latest) for tp, h in held.items() if h.latest is not None},
            lease_valid=lease.valid,
            observe_latency=self._metrics.commit_seconds.observe,
            sleep=self._env.sleep,
        )
        for tp, point in outcome.committed.items():
            holding = self.held[tp]
            self._batcher.succeeded(tp, point)
            holding.committed = point.next_offset
            self._metrics.inc("commits")
            if self._observer is not None:
                claim = holding.claim
                self._observer.committed(claim.group, tp[0], tp[1], point.next_offset, claim.epoch)
        for tp, exc in outcome.stale.items():
            self._metrics.inc("stale_commits_refused")
            self._host.error(f"commit of {tp[0]}/{tp[1]} refused: {exc}; dropping it")
            self._lose(tp)
        for tp, exc in outcome.failed.items():
            self._batcher.failed(tp)
            self._metrics.inc("commit_failures")
            self._host.error(f"commit of {tp[0]}/{tp[1]} failed: {exc}")
        return not outcome.failed and not outcome.stale and len(outcome.committed) == len(held)
