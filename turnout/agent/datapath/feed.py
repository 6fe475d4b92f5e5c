"""The record feed: the binding's consumer and the held partitions' records on it.

Holds what every part of the data path shares: the held partitions (``held``), the
ones whose records may start now (``active``, the *gate* the dispatcher asks before
each record), the Kafka consumer and offset store of the binding, and the dispatcher.
It moves a poll's records to the dispatcher, one run of a partition at a time, and
pauses the fetch of partitions that may not start records or have enough queued. This
is the consume path: per record it adds nothing; per run, one dictionary lookup.

Threads: everything runs on the agent thread, except ``may_start`` (the dispatcher's
workers) and ``fetch_once`` (a fetching dispatcher's worker, under the fetch lock, which
the agent thread takes to replace or close the consumer under it).

Per held partition, as the feed sees it::

    claimed ──gate opened (desired, not paused, not blocked)──▶ active: records routed
    active ──paused / fenced / dispatcher full / releasing──▶ inactive: fetch paused,
            records that still arrive are dropped and fetched again on resume (seek)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager
from itertools import groupby

from confluent_kafka import Message

from turnout.agent.datapath.held import HeldPartition
from turnout.agent.datapath.routing import partition_runs, run_from, topic_partition_of
from turnout.agent.datapath.seams import DataPathContext
from turnout.agent.dispatch import (
    DispatchContext,
    Dispatcher,
    DispatcherFactory,
    FetchingDispatcher,
    Handler,
    KafkaGroup,
    RoomInRecords,
)
from turnout.agent.kafka_source import POLL_BATCH, KafkaSource
from turnout.agent.lease import LeaseState
from turnout.agent.offset_stores import KafkaOffsetStore, OffsetStore, ZkOffsetStore
from turnout.agent.warm_standby import WarmStandby
from turnout.protocol.models import Role
from turnout.protocol.partitions import PartitionId

#: Longest a Kafka poll blocks the agent thread: bounds the reaction time to ZooKeeper
#: events and lease changes.
POLL_TIMEOUT_S = 0.025
#: A worker fetching for the loop (``fetch_once``) waits this long for a first record
#: when nothing is queued. The agent's thread waits for its turn on the consumer (a
#: release's pause and final commit, a claim's assign) behind such a wait at most.
FETCH_POLL_TIMEOUT_S = 0.005
#: How often the lag gauge gets fresh high watermarks: it is read at scrape time (seconds
#: apart), and each refresh costs a librdkafka call per held partition.
LAG_REFRESH_S = 0.5


class RecordFeed:
    """The held partitions, their gate, consumer and offset store, and their records."""

    def __init__(
        self, context: DataPathContext, dispatcher_factory: DispatcherFactory, handler: Handler
    ) -> None:
        self._config = context.config
        self._paths = context.paths
        self._env = context.environment
        self._clock = context.environment.clock
        self._session = context.session
        self._lease = context.session.lease
        self._metrics = context.metrics
        self._log = context.log
        self._reports = context.reports
        self.held: dict[PartitionId, HeldPartition] = {}
        #: Partitions whose records may start now (held, wanted, not releasing/paused).
        self.active: frozenset[PartitionId] = frozenset()
        self.source: KafkaSource | None = None
        #: The role of the binding ``source`` consumes for (None: no source).
        self.role: Role | None = None
        self.store: OffsetStore | None = None
        #: When the lag gauge last got high watermarks.
        self._lag_fed_at = 0.0
        #: Held by a worker while it polls and routes; taken by the agent thread to
        #: replace or close the consumer under it.
        self._fetch_lock = threading.Lock()
        #: Set when partitions are assigned: a worker with nothing to fetch waits on it.
        self._fetchable = threading.Event()
        self._handler = handler
        #: What every dispatcher built here may prepare while the agent is a warm standby.
        self.warm_standby = WarmStandby()
        self.dispatcher = self.build_dispatcher(dispatcher_factory)
        #: The dispatcher's workers fetch; the agent's loop then only tends the fetch
        #: (pauses, lag) besides its other duties.
        self.fetch_delegated = False
        self.delegate_fetching()

    # ---- the dispatcher -----------------------------------------------------------------

    def build_dispatcher(self, factory: DispatcherFactory) -> Dispatcher:
        """A dispatcher from ``factory`` over the agent's handler and gate (its workers
        may start at once; it gets records once it is ``dispatcher``)."""
        return factory(
            DispatchContext(
                handler=self._handler,
                may_start=self.may_start,
                instance=self._config.instance,
                metrics=self._metrics,
                role=lambda: self.role,
                kafka_group=KafkaGroup(
                    deployment=self._config.deployment,
                    group=lambda: self.source.group if self.source is not None else None,
                    metadata=self._group_metadata,
                    committed=self._committed,
                    lease_s=self._config.session_timeout_s - self._config.fence_margin_s,
                    offsets_in_kafka=self._config.offset_store == "kafka",
                    ownership_began=self.ownership_began,
                ),
                warm_standby=self.warm_standby,
                report_error=self._reports.report_error,
            )
        )

    def _source(self) -> KafkaSource:
        source = self.source
        if source is None:
            raise RuntimeError("no consumer: the agent holds no binding")
        return source

    def _group_metadata(self) -> object:
        return self._source().group_metadata()

    def _committed(self, tp: PartitionId) -> int | None:
        found = self._source().committed([tp]).get(tp)
        return found[0] if found is not None else None

    def delegate_fetching(self) -> None:
        """Let ``dispatcher`` fetch on its own threads if it can (``FetchingDispatcher``).
        Its fetch is bound to it: once another dispatcher replaced it, its workers' fetches
        return at once without polling."""
        dispatcher: object = self.dispatcher  # optional capabilities of any Dispatcher
        self._room = dispatcher.room_in_records if isinstance(dispatcher, RoomInRecords) else None
        self.fetch_delegated = False
        if isinstance(dispatcher, FetchingDispatcher):
            self.fetch_delegated = dispatcher.take_over_fetching(
                lambda: self.fetch_once(for_dispatcher=dispatcher)
            )

    @contextmanager
    def fetching_held(self) -> Iterator[None]:
        """No worker fetches (nor routes) inside: the agent thread replaces the consumer, or
        the dispatcher, under it."""
        with self._fetch_lock:
            yield

    # ---- the gate (dispatcher workers' threads) -----------------------------------------

    def may_start(self, tp: PartitionId) -> bool:
        """Whether a record of ``tp`` may start now: held, wanted and not paused or
        releasing, under a valid lease (``DispatchContext.may_start``)."""
        return tp in self.active and self._lease.valid()

    def ownership_began(self, tp: PartitionId) -> int | None:
        """The epoch this instance's ownership of ``tp`` began at (None: not held)."""
        held = self.held.get(tp)
        return None if held is None else held.claim.began_at

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
        if self.source is None:
            return
        fenced = self._lease.state() is not LeaseState.VALID
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

    # ---- the consumer -------------------------------------------------------------------

    def open_source(self, group: str, role: Role) -> None:
        """Open the Kafka consumer (and offset store) of ``group``, the binding of ``role``."""
        with self._fetch_lock:
            self.source = self._env.new_source(self._config, group)
            self.role = role
        if self._config.offset_store == "kafka":
            self.store = KafkaOffsetStore(self.source)
        else:
            zk = self._session.gateway
            assert zk is not None
            self.store = ZkOffsetStore(zk, self._paths)

    def retire_source(self) -> bool:
        """Close the consumer if nothing is held any more; True if it was closed."""
        if self.source is not None and not self.held:
            with self._fetch_lock:
                self.source.close()
                self.source = None
                self.role = None
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

    def assign(self, starts: Sequence[tuple[PartitionId, int]], *, start_now: bool) -> None:
        """Assign claimed partitions at their start offsets; a worker waiting for
        something to fetch wakes. With ``start_now`` their gate opens first and they are
        assigned fetching (a claim's partitions when the deployment is not paused): the
        first records come without a resume after the claim, which would wait its turn on
        the consumer behind a worker's poll. Otherwise they are assigned paused, and
        ``refresh_active`` resumes those that may start."""
        assert self.source is not None
        if start_now:
            self.active = self.active | {tp for tp, _ in starts}
        self.source.assign(starts, paused=not start_now)
        self._fetchable.set()

    # ---- records ------------------------------------------------------------------------

    def fetch_once(self, for_dispatcher: object = None) -> bool:
        """Poll Kafka once (bounded by ``POLL_TIMEOUT_S``) and route what came; True if
        anything came. The dispatcher's worker calls it when fetching is delegated; with
        nothing assigned it waits (as long) for a claim instead. A worker of a dispatcher
        that was replaced (``for_dispatcher`` is not ``dispatcher``) polls nothing."""
        with self._fetch_lock:
            stale = for_dispatcher is not None and for_dispatcher is not self.dispatcher
            source = None if stale else self.source
            if source is not None and source.has_assignment:
                room = self._room
                messages = source.poll(FETCH_POLL_TIMEOUT_S, room() if room else POLL_BATCH)
                if messages:
                    self._route_batch(messages)
                return bool(messages)
        self._fetchable.wait(POLL_TIMEOUT_S)
        self._fetchable.clear()
        return False

    def tend(self) -> None:
        """The loop's share of fetching when a dispatcher fetches: pauses and the lag feed."""
        if self.source is None:
            return
        self.update_pauses()
        self._maybe_feed_lag()

    def pump(self) -> None:
        """Poll Kafka once (bounded by ``POLL_TIMEOUT_S``) and route what came, one run of
        consecutive records of a partition at a time; now and then, feed the lag gauge."""
        if self.source is None:
            return
        if self.dispatcher.has_room():
            room = self._room
            messages = self.source.poll(POLL_TIMEOUT_S, room() if room else POLL_BATCH)
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
            for (topic, partition), same in groupby(messages, topic_partition_of):
                if topic is not None and partition is not None:
                    self._route((source.logical_topic(topic), partition), list(same))
            return
        topic = messages[0].topic()
        if topic is not None and source is not None:
            topic = source.logical_topic(topic)
            for partition, run in partition_runs(messages):
                self._route((topic, partition), run)

    def _route(self, tp: PartitionId, messages: list[Message]) -> None:
        """Submit a run of ``tp``'s messages (ascending offsets) as one ``submit_run``."""
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
        assert self.source is not None
        for tp in self.active:
            high = self.source.cached_high_watermark(tp)
            if high is not None:
                self.dispatcher.set_high_watermark(tp, high)
