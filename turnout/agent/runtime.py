"""The agent: ZooKeeper-coordinated partition ownership around one Kafka consumer.

Threads:
- the *agent thread* does every ZooKeeper write, every Kafka call and all bookkeeping;
- the *heartbeat thread* renews the lease (one ZooKeeper read per interval);
- the dispatcher's workers run the handler;
- kazoo's event thread runs listeners and watch callbacks, which only record what
  happened and wake the agent thread (they never block: kazoo#355).

States (``AgentState``) and transitions::

    STARTING ──session + instance node──▶ REGISTERED ──first reconcile──▶ RUNNING
    RUNNING ◀──▶ REBALANCING  (releases and claims in progress, or a claim waits for
                               the previous owner's node to go)
    RUNNING ◀──▶ PAUSED       (directive paused: ownership kept, nothing processed)
    any live ──lease deadline passed──▶ FENCED ──renewed on the same session──▶ back
    any live ──session LOST──▶ REJOINING (all ownership dropped without committing)
             ──new session + instance node──▶ REGISTERED
    any ──stop()──▶ STOPPING ──drain, commit, release, deregister──▶ STOPPED
    any ──unexpected error in the agent thread──▶ FAILED (ownership released by closing
                                                          the session; see errors)

Failure effects:
- ZooKeeper unreachable (SUSPENDED): no effect until the lease deadline
  (session timeout - fence margin after the last proof of life); then FENCED: every
  partition paused, no handler starts, no commit. Reconnecting on the same session
  lifts the fence; the ownership is intact.
- Session LOST: partitions dropped without commit (a successor replays from the last
  commit: duplicates bounded by the commit interval/count), stale ephemerals of the old
  session deleted, instance re-registered, everything re-read.
- A ZooKeeper request timing out: the step is retried at the next reconcile, and owner
  nodes this session may have created unseen are swept.
- A commit failing: retried with backoff (tenacity) inside the step, then at the next
  step; counted (``commit_failures``), logged, listed in ``status().errors``. A release
  whose final commit fails keeps the owner node and retries; only ``stop()``'s deadline
  releases without it (logged as an error: the successor replays).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from types import TracebackType
from typing import Self
from wsgiref.simple_server import WSGIServer

from confluent_kafka import KafkaException, Message
from prometheus_client import start_http_server

from turnout.agent.agreement import StaleView, View, agree, members_of_colour, owners_of
from turnout.agent.commits import CommitBatcher
from turnout.agent.committer import commit_points
from turnout.agent.config import AgentConfig
from turnout.agent.dispatch import TP, Dispatcher, Record
from turnout.agent.holding import Holding
from turnout.agent.kafka_source import KafkaSource
from turnout.agent.lease import Lease, LeaseState, heartbeat_interval
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.agent.offsets import (
    Claim,
    Committed,
    KafkaOffsetStore,
    OffsetStore,
    ZkOffsetStore,
)
from turnout.agent.sequential import (
    DispatchContext,
    DispatcherFactory,
    Handler,
    SequentialDispatcher,
)
from turnout.agent.znodes import (
    create_owner,
    put_ephemeral,
    read_snapshot,
    sweep_owner_nodes,
)
from turnout.protocol import (
    Binding,
    DeploymentPaths,
    Directive,
    InstanceRegistration,
    InstanceStatus,
    Ownership,
)
from turnout.protocol.models import utc_now
from turnout.zk import (
    ConnectionState,
    WatchEvent,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNoNodeError,
    ZkUnavailableError,
)

#: Watch events arrive in bursts (a join changes instances/ and then assignments/);
#: reconcile once the burst has been quiet this long ...
DEBOUNCE_S = 0.03
#: ... but never later than this after its first event, so a steady trickle of events
#: cannot starve reconciliation.
DEBOUNCE_MAX_S = 0.25
#: Re-read everything this often even without events: watches are one-shot and a lost
#: one must not leave the agent wrong for long (level-triggered safety net).
RESYNC_INTERVAL_S = 10.0
#: How often to look for partition-count changes in Kafka metadata (Kafka has no watch).
METADATA_POLL_INTERVAL_S = 5.0
#: Longest a Kafka poll blocks the agent thread: bounds the reaction time to ZooKeeper
#: events and lease changes.
POLL_TIMEOUT_S = 0.025
#: Status znode writes: at most this often when something changed ...
STATUS_MIN_INTERVAL_S = 0.25
#: ... and at least this often regardless (counters move).
STATUS_MAX_INTERVAL_S = 5.0
#: Pause after a step interrupted by a ZooKeeper or Kafka error, so an outage costs a
#: few log lines per second rather than a busy loop.
STEP_RETRY_S = 0.2
#: Retry a failed ZooKeeper connect/registration this often (the agent thread's pace
#: while ZooKeeper is down).
CONNECT_RETRY_S = 1.0
#: ``stop()`` default: the drain of in-flight work plus final commits and deletes.
DEFAULT_STOP_TIMEOUT_S = 30.0
#: Recent errors kept for ``status().errors``.
MAX_ERRORS = 20

logger = logging.getLogger("turnout.agent")


class AgentState(StrEnum):
    STARTING = "STARTING"
    REGISTERED = "REGISTERED"
    RUNNING = "RUNNING"
    REBALANCING = "REBALANCING"
    PAUSED = "PAUSED"
    FENCED = "FENCED"
    REJOINING = "REJOINING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class Agent:
    """One agent instance. ``start()`` returns at once; ``stop()`` drains and releases.

    ``handler(record)`` is called once per record, in offset order per partition (with
    the default dispatcher). ``dispatcher_factory`` plugs in another ``Dispatcher``
    (the work manager's): it is called once, with a :class:`DispatchContext` carrying the
    handler and the ownership gate ``may_start`` the dispatcher must consult before
    starting each record. ``observer`` receives claim/release/commit/fence events.
    """

    def __init__(
        self,
        config: AgentConfig,
        handler: Handler,
        *,
        dispatcher_factory: DispatcherFactory | None = None,
        observer: AgentObserver | None = None,
    ) -> None:
        self.config = config
        self._observer = observer
        self._handler = handler
        self._factory = dispatcher_factory or SequentialDispatcher.factory
        self.metrics = AgentMetrics(config.deployment, config.instance)
        self._paths = DeploymentPaths(config.zk_root, config.deployment)
        self._lease = Lease(config.fence_after_s)
        self._log = ContextLog(
            logger, {"instance": config.instance, "deployment": config.deployment}
        )
        self._zk: ZkGateway | None = None
        self._source: KafkaSource | None = None
        self._store: OffsetStore | None = None
        self._dispatcher: Dispatcher | None = None
        self._batcher = CommitBatcher(config.commit_interval_s, config.commit_every)
        self._held: dict[TP, Holding] = {}
        #: Partitions whose records may start now (owned, claimed, not releasing/paused).
        self._active: frozenset[TP] = frozenset()
        self._directive: Directive | None = None
        self._binding: Binding | None = None
        self._desired: set[TP] = set()
        self._desired_since: dict[TP, float] = {}
        self._partitions: dict[str, int] = {}
        self._partitions_read_at = 0.0
        self._applied_epoch = 0
        self._state = AgentState.STARTING
        self._registered = False
        self._old_sessions: set[int] = set()
        self._sweep_needed = False
        self._errors: collections.deque[str] = collections.deque(maxlen=MAX_ERRORS)
        self._started_at = utc_now()
        # Event flags written by kazoo's thread, read by the agent thread.
        self._events_lock = threading.Lock()
        self._dirty_first: float | None = None
        self._dirty_last = 0.0
        self._claims_due = False
        self._conn_events: collections.deque[ConnectionState] = collections.deque()
        self._wake = threading.Event()
        self._stop_requested = threading.Event()
        self._stop_deadline = 0.0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        self._last_resync = 0.0
        self._status_dirty = True
        self._status_written_at = 0.0
        self._snapshot: InstanceStatus = self._build_status()
        self._snapshot_lock = threading.Lock()
        self._metrics_server: WSGIServer | None = None
        #: The session our status node was last written under (set() is then enough).
        self._status_session = 0

    # ---- public API ---------------------------------------------------------------------

    def start(self) -> Self:
        """Start the agent's threads and return at once."""
        if self._thread is not None:
            raise RuntimeError("agent already started")
        if self.config.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                self.config.metrics_port, registry=self.metrics.registry
            )
        self._dispatcher = self._factory(
            DispatchContext(
                handler=self._handler,
                may_start=self._may_start,
                instance=self.config.instance,
                metrics=self.metrics,
            )
        )
        self._thread = threading.Thread(
            target=self._run, name=f"turnout-agent-{self.config.instance}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Drain in-flight work, commit, release every partition, deregister; True if
        that finished within ``timeout`` seconds."""
        if self._thread is None:
            return True
        self._stop_deadline = time.monotonic() + timeout
        self._stop_requested.set()
        self._wake.set()
        finished = self._stopped.wait(timeout + 1.0)
        self._thread.join(timeout=1.0)
        return finished

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def state(self) -> AgentState:
        return self._state

    @property
    def session(self) -> tuple[int, bytes] | None:
        """(session id, password) of the agent's ZooKeeper session, for tooling and tests."""
        zk = self._zk
        return zk.client_id if zk is not None else None

    @property
    def metrics_registry(self) -> object:
        return self.metrics.registry

    def status(self) -> InstanceStatus:
        """A snapshot of what the agent owns, its epoch, counters and recent errors."""
        with self._snapshot_lock:
            return self._snapshot

    def owned(self) -> frozenset[TP]:
        return frozenset((p.topic, p.partition) for p in self.status().owned)

    def wait_for(self, predicate: Callable[[Agent], bool], timeout: float) -> bool:
        """Poll ``predicate(self)`` until true or ``timeout``; for tests and tooling."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)

    # ---- callbacks (kazoo's thread: never block) ----------------------------------------

    def _on_state(self, state: ConnectionState) -> None:
        with self._events_lock:
            self._conn_events.append(state)
        self._wake.set()

    def _on_watch(self, event: WatchEvent) -> None:
        del event
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        now = time.monotonic()
        with self._events_lock:
            if self._dirty_first is None:
                self._dirty_first = now
            self._dirty_last = now
        self._wake.set()

    def _on_owner_event(self, event: WatchEvent) -> None:
        del event
        self._retry_claims()

    def _retry_claims(self) -> None:
        with self._events_lock:
            self._claims_due = True
        self._wake.set()

    # ---- the gate (dispatcher workers' threads) -----------------------------------------

    def _may_start(self, record: Record) -> bool:
        return record.tp in self._active and self._lease.valid()

    # ---- agent thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop_requested.is_set():
                try:
                    self._step()
                except (ZkError, KafkaException) as exc:
                    # An outage, not a bug: everything is level-triggered, so the next
                    # steps redo what this one could not; nodes it may have created
                    # unseen are swept.
                    self._sweep_needed = True
                    self._error(f"step interrupted: {type(exc).__name__}: {exc}")
                    self._mark_dirty()
                    self._wake.wait(STEP_RETRY_S)
                    self._wake.clear()
            self._shutdown()
        except Exception as exc:
            self._set_state(AgentState.FAILED)
            self._error(f"agent thread failed: {type(exc).__name__}: {exc}")
            self._log.exception("agent thread failed", extra={"event": "agent_failed"})
            self._abandon()
        finally:
            self._refresh_snapshot()
            self._stopped.set()

    def _step(self) -> None:
        if self._zk is None and not self._connect():
            self._wake.wait(CONNECT_RETRY_S)
            self._wake.clear()
            return
        self._handle_connection_events()
        if not self._registered and not self._try_register():
            self._wake.wait(CONNECT_RETRY_S)
            self._wake.clear()
            return
        self._check_lease()
        now = time.monotonic()
        if self._reconcile_due(now):
            self._reconcile()
        elif self._lease.valid() and self._take_claims_due():
            self._apply(self._desired)
        metadata_due = now - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        if (
            metadata_due
            and self._source is not None
            and self._binding is not None
            and self._read_partitions(self._binding) is not None
        ):
            self._mark_dirty()
        self._pump()
        self._commit_due()
        self._maybe_write_status()
        reason = self._dispatcher.stop_reason() if self._dispatcher else None
        if reason:
            self._error(f"the dispatcher asked to stop: {reason}")
            self._stop_deadline = time.monotonic() + DEFAULT_STOP_TIMEOUT_S
            self._stop_requested.set()
        if self._source is None or not self._source.assigned:
            self._wake.wait(POLL_TIMEOUT_S)
        self._wake.clear()

    # ---- connection and registration ----------------------------------------------------

    def _connect(self) -> bool:
        zk = ZkGateway(
            self.config.zookeeper,
            session_timeout_s=self.config.session_timeout_s,
            # A request outlasting the fence window is useless: the lease is gone by then.
            request_timeout_s=self.config.fence_after_s,
        )
        try:
            zk.start()
        except ZkError as exc:
            self._error(f"ZooKeeper: {exc}")
            return False
        zk.add_state_listener(self._on_state)
        self._zk = zk
        self._heartbeat = threading.Thread(
            target=self._heartbeat_loop,
            name=f"turnout-heartbeat-{self.config.instance}",
            daemon=True,
        )
        self._heartbeat.start()
        return True

    def _heartbeat_loop(self) -> None:
        interval = heartbeat_interval(self.config.fence_after_s)
        path = self._paths.instance(self.config.instance)
        zk = self._zk
        assert zk is not None
        while not self._stopped.is_set():
            sent = time.monotonic()
            session = zk.session_id
            try:
                zk.exists(path)
            except ZkError:
                pass
            else:
                if zk.session_id == session:
                    self._lease.renew(session, sent)
            self._stopped.wait(interval)

    def _handle_connection_events(self) -> None:
        zk = self._zk
        assert zk is not None
        while True:
            with self._events_lock:
                if not self._conn_events:
                    break
                state = self._conn_events.popleft()
            self._log.info("ZooKeeper %s", state, extra={"event": "zk_state", "state": str(state)})
            if state is ConnectionState.LOST:
                self._session_lost()
            elif state is ConnectionState.CONNECTED:
                if self._registered and zk.session_id != self._lease.session_id:
                    self._session_lost()
                self._mark_dirty()
            self._status_dirty = True

    def _session_lost(self) -> None:
        """Drop every partition without committing and prepare to rejoin."""
        if self._lease.session_id:
            self._old_sessions.add(self._lease.session_id)
        self._lease.revoke()
        self.metrics.inc("sessions_lost")
        lost = list(self._held)
        self._active = frozenset()
        for tp in lost:
            self._drop(tp)
        self.metrics.inc("partitions_lost", len(lost))
        if self._registered:
            self._error(f"ZooKeeper session lost: dropped {len(lost)} partitions uncommitted")
        self._registered = False
        self._sweep_needed = True
        self._set_state(AgentState.REJOINING)
        if self._observer is not None:
            self._observer.fenced("session lost")

    def _registration(self, session_id: int) -> InstanceRegistration:
        return InstanceRegistration(
            instance=self.config.instance,
            colour=self.config.colour,
            version=self.config.version,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self._started_at,
            session_id=session_id,
        )

    def _try_register(self) -> bool:
        zk = self._zk
        assert zk is not None
        if not zk.connected:
            return False
        sent = time.monotonic()
        session = zk.session_id
        try:
            path = self._paths.instance(self.config.instance)
            if not put_ephemeral(
                zk, path, self._registration(session).to_bytes(), self._old_sessions, self._on_watch
            ):
                self._error(
                    f"instance {self.config.instance} is registered by another live session;"
                    " waiting for it to end"
                )
                return False
        except ZkError as exc:
            self._error(f"registration failed: {exc}")
            return False
        if zk.session_id != session:
            return False
        if self._lease.session_id != session:
            self._lease.start(session, sent)
        self._registered = True
        self._set_state(AgentState.REGISTERED)
        self._log.info(
            "registered (session 0x%x)", session, extra={"event": "registered", "session": session}
        )
        self._status_dirty = True
        self._mark_dirty()
        return True

    # ---- lease / fence ------------------------------------------------------------------

    def _check_lease(self) -> None:
        state = self._lease.state()
        fenced = state is not LeaseState.VALID
        if fenced and self._state not in (AgentState.FENCED, AgentState.REJOINING):
            self.metrics.inc("fence_events")
            self.metrics.fenced.set(1)
            self._error(
                f"fenced: no word from ZooKeeper for {self.config.fence_after_s:.1f} s;"
                " processing and commits stopped"
            )
            self._set_state(AgentState.FENCED)
            self._update_pauses()
            if self._observer is not None:
                self._observer.fenced("lease expired")
        elif not fenced and self._state is AgentState.FENCED:
            self.metrics.fenced.set(0)
            self._log.info("fence lifted: session intact", extra={"event": "unfenced"})
            self._set_state(self._steady_state())
            self._mark_dirty()
            self._update_pauses()

    def _steady_state(self) -> AgentState:
        if self._held.keys() != self._desired or any(
            h.claim.epoch != self._epoch() for h in self._held.values()
        ):
            return AgentState.REBALANCING
        if self._directive is not None and self._directive.paused:
            return AgentState.PAUSED
        return AgentState.RUNNING

    # ---- reconcile ----------------------------------------------------------------------

    def _reconcile_due(self, now: float) -> bool:
        if now - self._last_resync >= RESYNC_INTERVAL_S:
            return True
        with self._events_lock:
            if self._dirty_first is None:
                return False
            return now - self._dirty_last >= DEBOUNCE_S or now - self._dirty_first >= DEBOUNCE_MAX_S

    def _take_claims_due(self) -> bool:
        with self._events_lock:
            due, self._claims_due = self._claims_due, False
        return due

    def _epoch(self) -> int:
        return self._directive.epoch if self._directive else 0

    def _reconcile(self) -> None:
        """Re-read the world and converge to it (level-triggered: safe to repeat)."""
        zk = self._zk
        assert zk is not None
        with self._events_lock:
            self._dirty_first = None
            self._claims_due = False
        self._last_resync = time.monotonic()
        if self._lease.state() is not LeaseState.VALID or not zk.connected:
            return
        try:
            desired = self._desired_partitions()
            if desired is None:
                self._mark_dirty()
                return
            self._apply(desired)
            if self._sweep_needed:
                self._sweep()
        except ZkUnavailableError as exc:
            self._sweep_needed = True
            self._error(f"reconcile interrupted: {exc}")
            self._mark_dirty()

    def _desired_partitions(self) -> set[TP] | None:
        """What this instance should own now; None if no agreement yet (retry)."""
        zk = self._zk
        assert zk is not None
        snapshot = read_snapshot(zk, self._paths, self._on_watch)
        directive = self._directive = snapshot.directive
        binding = directive.binding_for(self.config.colour) if directive else None
        if binding is None or directive is None:
            self._retire_source()
            return set()
        if self._source is not None and self._source.group != binding.group:
            # The binding changed group: release under the old one first.
            self._apply(set())
            if self._held:
                return None
            self._retire_source()
        self._binding = binding
        if self._source is None:
            self._open_source(binding)
        stale = time.monotonic() - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        if stale or not any(self._partitions.get(t) for t in binding.topics):
            self._read_partitions(binding)
        counts = self._partitions
        members = members_of_colour(snapshot.registrations, self.config.colour)
        if self.config.instance not in members:
            # Our registration is gone (deleted by hand?): register again, then decide.
            self._registered = False
            return None
        view = View(
            directive=directive,
            colour=self.config.colour,
            group=binding.group,
            members=members,
            members_version=snapshot.members_version,
            partitions={t: counts.get(t, 0) for t in binding.topics},
            use_pins=binding == directive.live,
        )
        try:
            record = agree(
                zk,
                self._paths.assignment(binding.group),
                view,
                self.config.instance,
                watch=self._on_watch,
            )
        except StaleView as exc:
            self._log.debug("stale view: %s", exc)
            self._partitions_read_at = 0.0  # maybe our partition counts are old
            return None
        if record is None:
            return None
        return {tp for tp, owner in owners_of(record).items() if owner == self.config.instance}

    def _open_source(self, binding: Binding) -> None:
        self._source = KafkaSource(
            self.config.kafka,
            binding.group,
            client_id=f"turnout-{self.config.deployment}-{self.config.instance}",
            auto_offset_reset=self.config.auto_offset_reset,
            properties=self.config.kafka_properties,
        )
        if self.config.offset_store == "kafka":
            self._store = KafkaOffsetStore(self._source)
        else:
            assert self._zk is not None
            self._store = ZkOffsetStore(self._zk, self._paths)
        self._partitions_read_at = 0.0

    def _retire_source(self) -> None:
        if self._source is not None and not self._held:
            self._source.close()
            self._source = None
            self._store = None
            self._binding = None

    def _read_partitions(self, binding: Binding) -> dict[str, int] | None:
        """Fresh partition counts if they changed since the last read, else None."""
        assert self._source is not None
        self._partitions_read_at = time.monotonic()
        try:
            fresh = self._source.partition_counts(binding.topics)
        except Exception as exc:
            self._error(f"Kafka metadata: {exc}")
            return None
        # Kafka partitions never shrink: a lower count is a metadata hiccup (a topic in
        # leader election reports an error), and believing it would release partitions.
        counts = {t: max(n, self._partitions.get(t, 0)) for t, n in fresh.items()}
        if counts == self._partitions:
            return None
        self._log.info("partitions %s", counts, extra={"event": "partitions"})
        self._partitions = counts
        return counts

    def _apply(self, desired: set[TP]) -> None:
        """Release what we hold but should not, re-stamp what we keep, claim the rest."""
        now = time.monotonic()
        epoch = self._epoch()
        for tp in desired - self._desired:
            self._desired_since[tp] = now
        for tp in self._desired - desired:
            self._desired_since.pop(tp, None)
        changed = desired != self._desired
        self._desired = set(desired)
        releasing = [tp for tp in self._held if tp not in desired]
        if changed or releasing:
            self.metrics.inc("rebalances")
        if releasing or (desired - self._held.keys()):
            self._set_state(AgentState.REBALANCING)
        if releasing:
            drain_s = (self._directive.drain_timeout_ms / 1000) if self._directive else 10.0
            self._release_many(releasing, now + drain_s)
        for tp, held in list(self._held.items()):
            if held.claim.epoch != epoch and tp in desired:
                self._restamp(tp, epoch)
        self._claim_many(sorted(desired - self._held.keys()), epoch)
        self._refresh_active()
        if self._held.keys() == desired and all(
            h.claim.epoch == epoch for h in self._held.values()
        ):
            if self._applied_epoch != epoch:
                self._log.info(
                    "applied epoch %d", epoch, extra={"event": "applied", "epoch": epoch}
                )
            self._applied_epoch = epoch
        if self._state not in (AgentState.FENCED, AgentState.REJOINING):
            self._set_state(self._steady_state())
        self.metrics.owned_partitions.set(len(self._held))
        self._status_dirty = True

    def _refresh_active(self) -> None:
        paused = self._directive is not None and self._directive.paused
        self._active = frozenset(
            tp
            for tp, h in self._held.items()
            if tp in self._desired and not h.closed and h.blocked is None and not paused
        )
        self._update_pauses()

    def _claim_many(self, tps: list[TP], epoch: int) -> None:
        """Create the owner nodes we can, read all their offsets in one go, start them."""
        claims = [c for tp in tps if (c := self._create_owner(tp, epoch)) is not None]
        if not claims:
            return
        assert self._store is not None and self._source is not None
        assert self._dispatcher is not None and self._zk is not None
        try:
            committed = self._store.on_claim(claims)
            starts = {c.tp: self._start_position(c.tp, committed.get(c.tp)) for c in claims}
        except Exception as exc:
            self._error(f"claim of {len(claims)} partitions: reading offsets failed: {exc}")
            for claim in claims:
                try:
                    self._zk.delete(claim.owner_path, version=claim.owner_version)
                except ZkError:
                    self._sweep_needed = True
            self._mark_dirty()
            return
        now = time.monotonic()
        assign: list[tuple[TP, int]] = []
        for claim in claims:
            tp = claim.tp
            start, skip, blocked = starts[tp]
            found = committed.get(tp)
            self._held[tp] = Holding(
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
                self._dispatcher.open_partition(tp, start, skip)
            else:
                self._error(blocked)
            self.metrics.inc("partitions_claimed")
            since = self._desired_since.get(tp)
            if since is not None:
                self.metrics.handoff_seconds.observe(now - since)
            self._log.info(
                "claimed %s/%d at offset %d (epoch %d)",
                tp[0],
                tp[1],
                start,
                epoch,
                extra={"event": "claimed", "topic": tp[0], "partition": tp[1], "offset": start},
            )
        self._source.assign(assign)

    def _create_owner(self, tp: TP, epoch: int) -> Claim | None:
        """Create ``tp``'s owner node; None while another session holds it (its deletion
        fires the watch set here)."""
        zk = self._zk
        assert zk is not None and self._binding is not None
        group = self._binding.group
        data = Ownership(
            instance=self.config.instance,
            colour=self.config.colour,
            session_id=self._lease.session_id,
            epoch=epoch,
        ).to_bytes()
        path = self._paths.owner(group, tp[0], tp[1])
        node = create_owner(zk, path, data, self._old_sessions, self._on_owner_event)
        if node == "retry":
            self._retry_claims()
            return None
        if node == "busy":
            return None
        return Claim(group, tp, node.path, node.version, epoch, self.config.instance)

    def _start_position(
        self, tp: TP, committed: Committed | None
    ) -> tuple[int, frozenset[int], str | None]:
        assert self._source is not None
        if committed is not None:
            done = committed.metadata.done if committed.metadata else ()
            return committed.next_offset, frozenset(done), None
        policy = self.config.auto_offset_reset
        if policy == "error":
            return 0, frozenset(), f"{tp[0]}/{tp[1]} has no committed offset (reset policy: error)"
        low, high = self._source.watermarks(tp)
        return (low if policy == "earliest" else high), frozenset(), None

    def _restamp(self, tp: TP, epoch: int) -> None:
        zk = self._zk
        assert zk is not None
        held = self._held[tp]
        data = Ownership(
            instance=self.config.instance,
            colour=self.config.colour,
            session_id=self._lease.session_id,
            epoch=epoch,
        ).to_bytes()
        try:
            stat = zk.set(held.claim.owner_path, data, version=held.claim.owner_version)
        except (ZkBadVersionError, ZkNoNodeError):
            self._error(f"{tp[0]}/{tp[1]}: owner node changed under us; dropping it")
            self._drop(tp)
            self.metrics.inc("partitions_lost")
            return
        held.claim = replace(held.claim, owner_version=stat.version, epoch=epoch)

    def _release_many(self, tps: list[TP], deadline: float, *, force: bool = False) -> None:
        """Drain, commit (one call for all), then delete the owner nodes. A partition
        whose final commit failed keeps its node and is retried at the next reconcile,
        unless ``force`` (shutdown), which releases it anyway and says so."""
        zk = self._zk
        assert zk is not None and self._dispatcher is not None
        started = time.monotonic()
        self._active = self._active - set(tps)
        if self._source is not None:
            self._source.pause(tps)
        for tp in tps:
            held = self._held[tp]
            if not held.closed:
                point = self._dispatcher.close_partition(tp, max(0.0, deadline - time.monotonic()))
                held.closed = True
                if point is not None:
                    held.latest = point

        def ahead(tp: TP) -> bool:
            latest = self._held[tp].latest
            return latest is not None and latest.next_offset > (self._batcher.committed(tp) or 0)

        pending = {tp: self._held[tp] for tp in tps if ahead(tp)}
        if pending:
            self._commit(pending)
        for tp in tps:
            held_now = self._held.get(tp)
            if held_now is None:
                continue  # lost while committing
            if ahead(tp):
                if not force:
                    self._mark_dirty()
                    continue
                self._error(
                    f"{tp[0]}/{tp[1]} released without its final commit: the next owner "
                    f"replays from {self._batcher.committed(tp)}"
                )
            if self._observer is not None:
                claim = held_now.claim
                self._observer.released(claim.group, tp[0], tp[1], claim.epoch, held_now.committed)
            try:
                zk.delete(held_now.claim.owner_path, version=held_now.claim.owner_version)
            except (ZkNoNodeError, ZkBadVersionError):
                self._error(f"{tp[0]}/{tp[1]}: owner node was no longer ours at release")
            except ZkUnavailableError:
                if not force:
                    self._sweep_needed = True
                    self._mark_dirty()
                    continue
            final = self._batcher.committed(tp)
            self._forget(tp)
            self.metrics.inc("partitions_released")
            self.metrics.release_seconds.observe(time.monotonic() - started)
            self._log.info(
                "released %s/%d at %s",
                tp[0],
                tp[1],
                final,
                extra={"event": "released", "topic": tp[0], "partition": tp[1], "offset": final},
            )

    def _drop(self, tp: TP) -> None:
        """Forget a partition without committing (ownership already lost)."""
        if self._dispatcher is not None and not self._held[tp].closed:
            self._dispatcher.close_partition(tp, 0.0)
        self._forget(tp)

    def _forget(self, tp: TP) -> None:
        self._held.pop(tp, None)
        self._active = self._active - {tp}
        if self._source is not None:
            self._source.unassign([tp])
        if self._store is not None:
            self._store.forget(tp)
        self._batcher.forget(tp)
        self.metrics.owned_partitions.set(len(self._held))
        self._status_dirty = True

    def _sweep(self) -> None:
        """Delete owner nodes this session (or an old one) holds but we do not track."""
        zk = self._zk
        assert zk is not None
        self._sweep_needed = False
        if self._binding is None:
            return
        ours = {self._lease.session_id, *self._old_sessions}
        for tp in sweep_owner_nodes(zk, self._paths, self._binding, ours, self._held.keys()):
            self._log.warning(
                "deleted stale owner node %s/%d",
                tp[0],
                tp[1],
                extra={"event": "swept", "topic": tp[0], "partition": tp[1]},
            )

    # ---- records ------------------------------------------------------------------------

    def _pump(self) -> None:
        if self._source is None or self._dispatcher is None:
            return
        messages = self._source.poll(POLL_TIMEOUT_S)
        for message in messages:
            self._route(message)
        if messages:
            self._update_pauses()

    def _route(self, message: Message) -> None:
        assert self._dispatcher is not None
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            return
        tp = (topic, partition)
        held = self._held.get(tp)
        if held is None or tp not in self._active:
            if held is not None:
                held.needs_seek = True
            self.metrics.inc("records_dropped")
            return
        if offset < held.next_fetch:
            return  # re-fetched after a seek
        held.next_fetch = offset + 1
        headers = tuple(
            (
                str(item[0]),
                item[1] if item[1] is None or isinstance(item[1], bytes) else str(item[1]).encode(),
            )
            for item in (message.headers() or ())
        )
        self._dispatcher.submit(
            Record(
                topic=topic,
                partition=partition,
                offset=offset,
                key=message.key(),
                value=message.value(),
                headers=headers,
                timestamp_ms=message.timestamp()[1],
                epoch=held.claim.epoch,
            )
        )

    def _update_pauses(self) -> None:
        if self._source is None or self._dispatcher is None:
            return
        fenced = self._lease.state() is not LeaseState.VALID
        wanted = {
            tp
            for tp in self._held
            if fenced or tp not in self._active or not self._dispatcher.wants_more(tp)
        }
        seek = {tp: h.next_fetch for tp, h in self._held.items() if h.needs_seek}
        self._source.set_paused(wanted, seek)
        for tp in seek:
            if tp not in wanted:
                self._held[tp].needs_seek = False

    # ---- commits ------------------------------------------------------------------------

    def _commit_due(self) -> None:
        if self._dispatcher is None or not self._held or not self._lease.valid():
            return  # fenced: nothing may be committed (points stay pending)
        self._update_pauses()
        due: dict[TP, Holding] = {}
        for tp, held in self._held.items():
            if held.closed or held.blocked:
                continue
            point = self._dispatcher.commit_point(tp)
            if point is not None:
                held.latest = point
            if self._batcher.due(tp, held.latest):
                due[tp] = held
        if due:
            self._commit(due)

    def _commit(self, held: dict[TP, Holding]) -> bool:
        """Commit the latest points of ``held``; True if all succeeded. Refused without a
        valid lease; a partition the store says is no longer ours is dropped."""
        assert self._store is not None
        if not self._lease.valid() or not (self._zk and self._zk.connected):
            self.metrics.inc("stale_commits_refused", len(held))
            for tp in held:
                self._batcher.failed(tp)
            return False
        outcome = commit_points(
            self._store,
            {tp: (h.claim, h.latest) for tp, h in held.items() if h.latest is not None},
            lease_valid=self._lease.valid,
            observe_latency=self.metrics.commit_seconds.observe,
        )
        for tp, point in outcome.committed.items():
            holding = self._held[tp]
            self._batcher.succeeded(tp, point)
            holding.committed = point.next_offset
            self.metrics.inc("commits")
            if self._observer is not None:
                claim = holding.claim
                self._observer.committed(claim.group, tp[0], tp[1], point.next_offset, claim.epoch)
        for tp, exc in outcome.stale.items():
            self.metrics.inc("stale_commits_refused")
            self._error(f"commit of {tp[0]}/{tp[1]} refused: {exc}; dropping it")
            self._drop(tp)
            self.metrics.inc("partitions_lost")
        for tp, exc in outcome.failed.items():
            self._batcher.failed(tp)
            self.metrics.inc("commit_failures")
            self._error(f"commit of {tp[0]}/{tp[1]} failed: {exc}")
        return not outcome.failed and not outcome.stale and len(outcome.committed) == len(held)

    # ---- status -------------------------------------------------------------------------

    def _build_status(self) -> InstanceStatus:
        group = self._binding.group if self._binding else ""
        return InstanceStatus(
            instance=self.config.instance,
            colour=self.config.colour,
            version=self.config.version,
            epoch=self._applied_epoch,
            state=str(self._state),
            owned=tuple(h.row(group) for _, h in sorted(self._held.items())),
            fenced=self._lease.state() in (LeaseState.FENCED, LeaseState.REVOKED),
            counters=self.metrics.snapshot(),
            errors=tuple(self._errors),
        )

    def _refresh_snapshot(self) -> InstanceStatus:
        status = self._build_status()
        with self._snapshot_lock:
            self._snapshot = status
        return status

    def _maybe_write_status(self) -> None:
        now = time.monotonic()
        since = now - self._status_written_at
        if since < STATUS_MIN_INTERVAL_S or (
            not self._status_dirty and since < STATUS_MAX_INTERVAL_S
        ):
            if self._status_dirty:
                self._refresh_snapshot()
            return
        status = self._refresh_snapshot()
        self._status_written_at = now
        zk = self._zk
        if zk is None or not self._registered or not zk.connected:
            return
        path = self._paths.status(self.config.instance)
        try:
            session = zk.session_id
            if self._status_session == session:
                try:
                    zk.set(path, status.to_bytes())
                except ZkNoNodeError:
                    self._status_session = 0
            if self._status_session != session:
                if not put_ephemeral(zk, path, status.to_bytes(), self._old_sessions):
                    return
                self._status_session = session
            self._status_dirty = False
        except ZkError as exc:
            self._log.debug("status write failed: %s", exc)

    # ---- stopping -----------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._set_state(AgentState.STOPPING)
        zk = self._zk
        deadline = self._stop_deadline or time.monotonic() + DEFAULT_STOP_TIMEOUT_S
        self._active = frozenset()
        self._update_pauses()
        if zk is not None and zk.connected and self._registered:
            # Deregister first: peers start their rebalance (and wait on our owner
            # nodes) while we drain, so the handoff overlaps our shutdown.
            with contextlib.suppress(ZkError):
                zk.delete(self._paths.instance(self.config.instance))
        if zk is not None and self._lease.valid():
            self._release_many(list(self._held), deadline - 0.5, force=True)
        for tp in list(self._held):
            self._drop(tp)
        if self._dispatcher is not None:
            self._dispatcher.close(max(0.0, deadline - time.monotonic()))
        if zk is not None:
            with contextlib.suppress(ZkError):
                zk.delete(self._paths.status(self.config.instance))
        self._close_clients()
        self._set_state(AgentState.STOPPED)
        self._log.info("stopped", extra={"event": "stopped"})

    def _abandon(self) -> None:
        """After a failure: stop work and close the session (its ephemerals go with it)."""
        self._active = frozenset()
        if self._dispatcher is not None:
            try:
                self._dispatcher.close(0.0)
            except Exception:
                self._log.exception("dispatcher close failed")
        self._held.clear()
        self._close_clients()

    def _close_clients(self) -> None:
        self._stopped.set()  # ends the heartbeat
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        if self._source is not None:
            try:
                self._source.close()
            except Exception as exc:
                self._log.warning("Kafka consumer close failed: %s", exc)
            self._source = None
        if self._zk is not None:
            self._zk.stop()
            self._zk = None
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2.0)

    # ---- helpers ------------------------------------------------------------------------

    def _set_state(self, state: AgentState) -> None:
        if state is not self._state:
            self._log.info(
                "state %s -> %s",
                self._state,
                state,
                extra={"event": "state", "from": str(self._state), "to": str(state)},
            )
            self._state = state
            self._status_dirty = True

    def _error(self, message: str) -> None:
        stamp = utc_now().strftime("%H:%M:%S")
        self._errors.append(f"{stamp} {message}")
        self._status_dirty = True
        self._log.warning(message, extra={"event": "error"})
