"""The agent: ZooKeeper-coordinated partition ownership around one Kafka consumer.

This module is the agent's lifecycle: connection, registration, lease and fence, the
state machine below and the reconcile loop that decides which partitions to hold. The
partitions themselves (claim, re-stamp, release, fetch pausing, routing, commits) are
``datapath.DataPath``'s.

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

A standby instance is RUNNING and owns nothing; it keeps a consumer of the live
binding's group open (no assignment, no commits), so a switch to live does not wait
for one to be built.

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
from collections.abc import Callable, Set
from enum import StrEnum
from types import TracebackType
from typing import Self
from wsgiref.simple_server import WSGIServer

from confluent_kafka import KafkaException
from prometheus_client import start_http_server

from turnout.agent.agreement import StaleView, View, agree, members_of_colour, owners_of
from turnout.agent.config import AgentConfig
from turnout.agent.datapath import POLL_TIMEOUT_S, DataPath
from turnout.agent.dispatch import DispatchContext, Dispatcher, DispatcherFactory, Handler
from turnout.agent.environment import AgentEnvironment
from turnout.agent.holding import Holding
from turnout.agent.lease import Lease, LeaseState, heartbeat_interval
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.agent.offset_stores import OffsetStore
from turnout.agent.sequential import SequentialDispatcher
from turnout.agent.znodes import (
    Snapshot,
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
    PublishedAssignment,
)
from turnout.protocol.models import utc_now
from turnout.protocol.partitions import PartitionId
from turnout.zk import (
    ConnectionState,
    WatchEvent,
    ZkError,
    ZkGateway,
    ZkNoNodeError,
    ZkUnavailableError,
)

#: Watch events arrive in bursts (a join changes instances/ and then assignments/);
#: reconcile once the burst has been quiet this long (a directive change does not wait:
#: it is a single write, and a switch's handover starts with it) ...
DEBOUNCE_S = 0.03
#: ... but never later than this after its first event, so a steady trickle of events
#: cannot starve reconciliation.
DEBOUNCE_MAX_S = 0.25
#: Re-read everything this often even without events: watches are one-shot and a lost
#: one must not leave the agent wrong for long (level-triggered safety net).
RESYNC_INTERVAL_S = 10.0
#: Drain bound before any directive was read: the directive's own default
#: (``Directive.drain_timeout_ms``), so a release behaves the same either way.
DEFAULT_DRAIN_TIMEOUT_S = 10.0
#: How often to look for partition-count changes in Kafka metadata (Kafka has no watch).
METADATA_POLL_INTERVAL_S = 5.0
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

__all__ = [
    "CONNECT_RETRY_S",
    "DEBOUNCE_MAX_S",
    "DEBOUNCE_S",
    "DEFAULT_STOP_TIMEOUT_S",
    "MAX_ERRORS",
    "METADATA_POLL_INTERVAL_S",
    "POLL_TIMEOUT_S",
    "RESYNC_INTERVAL_S",
    "STATUS_MAX_INTERVAL_S",
    "STATUS_MIN_INTERVAL_S",
    "STEP_RETRY_S",
    "Agent",
    "AgentState",
]


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
        environment: AgentEnvironment | None = None,
    ) -> None:
        self.config = config
        self._env = environment or AgentEnvironment()
        self._clock = self._env.clock
        self._observer = observer
        self._handler = handler
        self._factory = dispatcher_factory or SequentialDispatcher.factory
        self.metrics = AgentMetrics(config.deployment, config.instance)
        self._paths = DeploymentPaths(config.zk_root, config.deployment)
        self._lease = Lease(config.fence_after_s, self._clock)
        self._log = ContextLog(
            logger, {"instance": config.instance, "deployment": config.deployment}
        )
        self._zk: ZkGateway | None = None
        self._data = DataPath(
            config, self._paths, _Host(self), self.metrics, observer, self._log, self._env
        )
        self._directive: Directive | None = None
        self._binding: Binding | None = None
        self._desired: set[PartitionId] = set()
        self._desired_since: dict[PartitionId, float] = {}
        self._partitions: dict[str, int] = {}
        #: The last reconcile's read of ZooKeeper (spares re-reading registrations).
        self._last_snapshot: Snapshot | None = None
        #: The live binding a standby keeps a consumer open for (and partition counts of).
        self._warm_binding: Binding | None = None
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
        #: The directive's watch fired: reconcile without waiting for the burst to end.
        self._directive_changed = False
        #: The published assignment's watch fired: look whether it still is ours.
        self._assignment_changed = False
        #: (path, inputs digest) of the published assignment this instance acts on.
        self._adopted: tuple[str, str] | None = None
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
        self._prepare()
        self._thread = threading.Thread(
            target=self._run, name=f"turnout-agent-{self.config.instance}", daemon=True
        )
        self._thread.start()
        return self

    def _prepare(self) -> None:
        """What ``start()`` sets up before the agent thread runs: the metrics server and
        the dispatcher. The model-based test, which runs the agent's steps itself
        (``_step_through_outages``, then ``_shutdown``), calls this instead of ``start()``."""
        if self.config.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                self.config.metrics_port, registry=self.metrics.registry
            )
        self._data.dispatcher = self._factory(
            DispatchContext(
                handler=self._handler,
                may_start=self._may_start,
                instance=self.config.instance,
                metrics=self.metrics,
            )
        )
        self._data.delegate_fetching()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Drain in-flight work, commit, release every partition, deregister; True if
        that finished within ``timeout`` seconds."""
        if self._thread is None:
            return True
        self._stop_deadline = self._clock() + timeout
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

    def owned(self) -> frozenset[PartitionId]:
        return frozenset((p.topic, p.partition) for p in self.status().owned)

    def wait_for(self, predicate: Callable[[Agent], bool], timeout: float) -> bool:
        """Poll ``predicate(self)`` until true or ``timeout``; for tests and tooling."""
        deadline = time.monotonic() + timeout  # real time: the caller's thread waits
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
        if event.path.startswith(self._paths.assignments + "/"):
            # Mostly the colour's own publishing (ours or a peer's adopting the same
            # map): one read tells, where a reconcile would re-read everything while a
            # handover's claims wait behind it.
            with self._events_lock:
                self._assignment_changed = True
            self._wake.set()
            return
        if event.path == self._paths.directive:
            # A directive change is one write, not a burst: reconcile at once (a switch's
            # releases, and its claims, start with it).
            with self._events_lock:
                self._directive_changed = True
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        now = self._clock()
        with self._events_lock:
            if self._dirty_first is None:
                self._dirty_first = now
            self._dirty_last = now
        self._wake.set()

    def _retry_claims(self) -> None:
        with self._events_lock:
            self._claims_due = True
        self._wake.set()

    # ---- the gate (dispatcher workers' threads) -----------------------------------------

    def _may_start(self, tp: PartitionId) -> bool:
        return tp in self._data.active and self._lease.valid()

    # ---- the data path's state under its former names -----------------------------------
    # The state-machine unit tests (tests/unit/agent/test_agent_states.py) set these up
    # on the agent directly; they are views of ``self._data``, not copies.

    @property
    def _held(self) -> dict[PartitionId, Holding]:
        return self._data.held

    @property
    def _active(self) -> frozenset[PartitionId]:
        return self._data.active

    @_active.setter
    def _active(self, active: frozenset[PartitionId]) -> None:
        self._data.active = active

    @property
    def _store(self) -> OffsetStore | None:
        return self._data.store

    @_store.setter
    def _store(self, store: OffsetStore | None) -> None:
        self._data.store = store

    @property
    def _dispatcher(self) -> Dispatcher | None:
        return self._data.dispatcher

    @_dispatcher.setter
    def _dispatcher(self, dispatcher: Dispatcher | None) -> None:
        self._data.dispatcher = dispatcher

    def _commit(self, held: dict[PartitionId, Holding]) -> bool:
        return self._data.commit(held)

    # ---- agent thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop_requested.is_set():
                if not self._step_through_outages():
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

    def _step_through_outages(self) -> bool:
        """One step; False if a ZooKeeper or Kafka outage interrupted it. An outage is not
        a bug: everything is level-triggered, so the next steps redo what this one could
        not, and nodes it may have created unseen are swept."""
        try:
            self._step()
        except (ZkError, KafkaException) as exc:
            self._sweep_needed = True
            self._error(f"step interrupted: {type(exc).__name__}: {exc}")
            self._mark_dirty()
            return False
        return True

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
        now = self._clock()
        with self._events_lock:
            directive_changed = self._directive_changed
        if not directive_changed and self._lease.valid() and self._take_claims_due():
            # Owner nodes we wait for went: claim before any debounced reconcile (a
            # handover's gap is this wait). A new directive goes first, though: it may
            # make these claims moot.
            self._apply(self._desired)
        if self._reconcile_due(now):
            self._reconcile()  # a new directive's reconcile claims too
        elif self._lease.valid() and self._take_assignment_changed():
            self._check_assignment()
        metadata_due = now - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        watched = self._binding or self._warm_binding
        if (
            metadata_due
            and self._data.source is not None
            and watched is not None
            and self._read_partitions(watched) is not None
        ):
            self._mark_dirty()
        if self._data.fetch_delegated:
            self._data.tend()
        else:
            self._data.pump()
        self._data.commit_due()
        self._maybe_write_status()
        dispatcher = self._data.dispatcher
        reason = dispatcher.stop_reason() if dispatcher else None
        if reason:
            self._error(f"the dispatcher asked to stop: {reason}")
            self._stop_deadline = self._clock() + DEFAULT_STOP_TIMEOUT_S
            self._stop_requested.set()
        if (
            self._data.fetch_delegated
            or self._data.source is None
            or not self._data.source.has_assignment
        ):
            # Not blocked in a poll (none to make, or the dispatcher's workers make
            # them): wait for an event, at most as long as a poll would have taken.
            self._wake.wait(POLL_TIMEOUT_S)
        self._wake.clear()

    # ---- connection and registration ----------------------------------------------------

    def _connect(self) -> bool:
        zk = self._env.new_gateway(self.config)
        try:
            zk.start()
        except ZkError as exc:
            self._error(f"ZooKeeper: {exc}")
            return False
        zk.add_state_listener(self._on_state)
        self._zk = zk
        if self._env.heartbeat_thread:
            self._heartbeat = threading.Thread(
                target=self._heartbeat_loop,
                name=f"turnout-heartbeat-{self.config.instance}",
                daemon=True,
            )
            self._heartbeat.start()
        return True

    def _heartbeat_loop(self) -> None:
        interval = heartbeat_interval(self.config.fence_after_s)
        while not self._stopped.is_set():
            self._renew_lease()
            self._stopped.wait(interval)

    def _renew_lease(self) -> None:
        """One proof of life: a ZooKeeper read on the current session renews the lease
        from the moment the read was sent."""
        zk = self._zk
        if zk is None:
            return
        sent = self._clock()
        session = zk.session_id
        try:
            zk.exists(self._paths.instance(self.config.instance))
        except ZkError:
            return
        if zk.session_id == session:
            self._lease.renew(session, sent)

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
        lost = list(self._data.held)
        self._data.forget_busy()
        self._data.active = frozenset()
        for tp in lost:
            self._data.drop(tp)
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
        sent = self._clock()
        session = zk.session_id
        # From here on, write only on this session: after a loss, kazoo opens the next
        # session by itself, and a step still under way (a process frozen mid-step, woken
        # on the new session) must not write there what it meant for this one.
        zk.bind_session(session)
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
            self._data.update_pauses()
            if self._observer is not None:
                self._observer.fenced("lease expired")
        elif not fenced and self._state is AgentState.FENCED:
            self.metrics.fenced.set(0)
            self._log.info("fence lifted: session intact", extra={"event": "unfenced"})
            self._set_state(self._steady_state())
            self._mark_dirty()
            self._data.update_pauses()

    def _steady_state(self) -> AgentState:
        held = self._data.held
        if held.keys() != self._desired or any(
            h.claim.epoch != self._epoch() for h in held.values()
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
            return (
                self._directive_changed
                or now - self._dirty_last >= DEBOUNCE_S
                or now - self._dirty_first >= DEBOUNCE_MAX_S
            )

    def _take_claims_due(self) -> bool:
        with self._events_lock:
            due, self._claims_due = self._claims_due, False
        return due

    def _take_assignment_changed(self) -> bool:
        with self._events_lock:
            changed, self._assignment_changed = self._assignment_changed, False
        return changed

    def _check_assignment(self) -> None:
        """Reconcile only if the published assignment is no longer the one we act on."""
        zk = self._zk
        assert zk is not None
        adopted = self._adopted
        if adopted is None:
            self._mark_dirty()
            return
        path, digest = adopted
        try:
            data, _ = zk.get(path, watch=self._on_watch)
        except ZkNoNodeError:
            self._mark_dirty()
            return
        if PublishedAssignment.from_bytes(data).inputs != digest:
            self._mark_dirty()

    def _epoch(self) -> int:
        return self._directive.epoch if self._directive else 0

    def _reconcile(self) -> None:
        """Re-read the world and converge to it (level-triggered: safe to repeat)."""
        zk = self._zk
        assert zk is not None
        with self._events_lock:
            self._dirty_first = None
            self._directive_changed = False
            self._claims_due = False
            self._assignment_changed = False
        self._last_resync = self._clock()
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

    def _desired_partitions(self) -> set[PartitionId] | None:
        """What this instance should own now; None if no agreement yet (retry)."""
        zk = self._zk
        assert zk is not None
        snapshot = self._last_snapshot = read_snapshot(
            zk, self._paths, self._on_watch, self._last_snapshot
        )
        directive = self._directive = snapshot.directive
        binding = directive.binding_for(self.config.colour) if directive else None
        if directive is None or binding is None:
            self._adopted = None
        if directive is None:
            self._retire_source()
            return set()
        if binding is None:
            self._keep_warm(directive.live)
            return set()
        source = self._data.source
        if source is not None and source.group != binding.group:
            # The binding changed group: release under the old one first.
            self._apply(set())
            if self._data.held:
                return None
            self._retire_source()
        if self._binding is None and binding != self._warm_binding:
            # Taking up a binding the standby did not keep warm: re-read the counts. (A
            # warm standby's counts are at most METADATA_POLL_INTERVAL_S old, like a live
            # instance's, and a view that differs from the agreed one is re-read anyway.)
            self._partitions_read_at = 0.0
        self._warm_binding = None
        self._binding = binding
        if self._data.source is None:
            self._open_source(binding)
        stale = self._clock() - self._partitions_read_at > METADATA_POLL_INTERVAL_S
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
        self._adopted = (self._paths.assignment(binding.group), record.inputs)
        return {tp for tp, owner in owners_of(record).items() if owner == self.config.instance}

    def _open_source(self, binding: Binding) -> None:
        self._data.open_source(binding.group)
        self._partitions_read_at = 0.0

    def _retire_source(self) -> None:
        if self._data.retire_source():
            self._binding = None
            self._warm_binding = None

    def _keep_warm(self, live: Binding) -> None:
        """Standby: own nothing, but keep a consumer of the live group open (no
        assignment) and the live topics' partition counts fresh, so a switch to live
        starts claiming without building a consumer or asking Kafka for metadata."""
        if self._data.held:
            return  # still releasing under the old binding; a later reconcile comes back
        self._binding = None
        source = self._data.source
        if source is None or source.group != live.group:
            self._retire_source()
            self._data.open_source(live.group)
            self._partitions_read_at = 0.0
        if self._warm_binding != live:
            self._partitions_read_at = 0.0
        self._warm_binding = live
        stale = self._clock() - self._partitions_read_at > METADATA_POLL_INTERVAL_S
        if stale or not all(t in self._partitions for t in live.topics):
            self._read_partitions(live)

    def _read_partitions(self, binding: Binding) -> dict[str, int] | None:
        """Fresh partition counts if they changed since the last read, else None."""
        source = self._data.source
        assert source is not None
        self._partitions_read_at = self._clock()
        try:
            fresh = source.partition_counts(binding.topics)
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

    def _apply(self, desired: set[PartitionId]) -> None:
        """Release what we hold but should not, re-stamp what we keep, claim the rest."""
        now = self._clock()
        epoch = self._epoch()
        for tp in desired - self._desired:
            self._desired_since[tp] = now
        for tp in self._desired - desired:
            self._desired_since.pop(tp, None)
        changed = desired != self._desired
        self._desired = set(desired)
        data = self._data
        # A closed holding (a release whose final commit failed, retried now) is released
        # even if wanted again: its dispatcher lane is gone, so it would stay held and
        # never processed; released, it is claimed afresh below, from its commit.
        releasing = [tp for tp, held in data.held.items() if tp not in desired or held.closed]
        if changed or releasing:
            self.metrics.inc("rebalances")
        if releasing or (desired - data.held.keys()):
            self._set_state(AgentState.REBALANCING)
        if releasing:
            drain_s = (
                self._directive.drain_timeout_ms / 1000
                if self._directive
                else DEFAULT_DRAIN_TIMEOUT_S
            )
            data.release_many(releasing, now + drain_s)
        for tp, held in list(data.held.items()):
            if held.claim.epoch != epoch and tp in desired:
                data.restamp(tp, epoch)
        claims = sorted(desired - data.held.keys())
        if claims:
            assert self._binding is not None
            data.claim_many(claims, self._binding.group, epoch, self._desired_since)
        self._refresh_active()
        if data.held.keys() == desired and all(h.claim.epoch == epoch for h in data.held.values()):
            if self._applied_epoch != epoch:
                self._log.info(
                    "applied epoch %d", epoch, extra={"event": "applied", "epoch": epoch}
                )
            self._applied_epoch = epoch
        if self._state not in (AgentState.FENCED, AgentState.REJOINING):
            self._set_state(self._steady_state())
        self.metrics.owned_partitions.set(len(data.held))
        self._status_dirty = True

    def _refresh_active(self) -> None:
        paused = self._directive is not None and self._directive.paused
        self._data.refresh_active(self._desired, paused)

    def _sweep(self) -> None:
        """Delete owner nodes this session (or an old one) holds but we do not track,
        under the binding we act on and every binding of the directive: a standby swept
        nothing before, yet a claim cut off just before a switch made it standby leaves
        nodes of its live session, which kept the live colour from those partitions."""
        zk = self._zk
        assert zk is not None
        self._sweep_needed = False
        directive = self._directive
        bindings = {self._binding, self._warm_binding}
        if directive is not None:
            bindings |= {directive.live, directive.preview}
        ours = {self._lease.session_id, *self._old_sessions}
        for binding in sorted((b for b in bindings if b is not None), key=str):
            held = self._data.held.keys() if binding == self._binding else set()
            for tp in sweep_owner_nodes(zk, self._paths, binding, ours, held):
                self._log.warning(
                    "deleted stale owner node %s/%d",
                    tp[0],
                    tp[1],
                    extra={"event": "swept", "topic": tp[0], "partition": tp[1]},
                )

    # ---- status -------------------------------------------------------------------------

    def _build_status(self) -> InstanceStatus:
        group = self._binding.group if self._binding else ""
        return InstanceStatus(
            instance=self.config.instance,
            colour=self.config.colour,
            version=self.config.version,
            epoch=self._applied_epoch,
            state=str(self._state),
            owned=tuple(h.row(group) for _, h in sorted(self._data.held.items())),
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
        now = self._clock()
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
        deadline = self._stop_deadline or self._clock() + DEFAULT_STOP_TIMEOUT_S
        data = self._data
        data.active = frozenset()
        data.update_pauses()
        if zk is not None and zk.connected and self._registered:
            # Deregister first: peers start their rebalance (and wait on our owner
            # nodes) while we drain, so the handoff overlaps our shutdown.
            with contextlib.suppress(ZkError):
                zk.delete(self._paths.instance(self.config.instance))
        if zk is not None and self._lease.valid():
            data.release_many(list(data.held), deadline - 0.5, force=True)
        for tp in list(data.held):
            data.drop(tp)
        if data.dispatcher is not None:
            data.dispatcher.close(max(0.0, deadline - self._clock()))
        if zk is not None:
            with contextlib.suppress(ZkError):
                zk.delete(self._paths.status(self.config.instance))
        self._close_clients()
        self._set_state(AgentState.STOPPED)
        self._log.info("stopped", extra={"event": "stopped"})

    def _abandon(self) -> None:
        """After a failure: stop work and close the session (its ephemerals go with it)."""
        data = self._data
        data.active = frozenset()
        if data.dispatcher is not None:
            try:
                data.dispatcher.close(0.0)
            except Exception:
                self._log.exception("dispatcher close failed")
        data.held.clear()
        self._close_clients()

    def _close_clients(self) -> None:
        self._stopped.set()  # ends the heartbeat
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        self._data.close_source()
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


class _Host:
    """The agent as its data path sees it (``datapath.DataPathHost``)."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @property
    def zk(self) -> ZkGateway | None:
        return self._agent._zk

    @property
    def lease(self) -> Lease:
        # Read at each use: the lease object is the agent's (tests replace it).
        return self._agent._lease

    @property
    def old_sessions(self) -> Set[int]:
        return self._agent._old_sessions

    def error(self, message: str) -> None:
        self._agent._error(message)

    def mark_dirty(self) -> None:
        self._agent._mark_dirty()

    def retry_claims(self) -> None:
        self._agent._retry_claims()

    def request_sweep(self) -> None:
        self._agent._sweep_needed = True

    def status_changed(self) -> None:
        self._agent._status_dirty = True
