"""The leader's background work: follow switches, reconcile ZooKeeper with the DB, sample lag.

Leader election (ZooKeeper's recipe, on the control plane's own ZooKeeper): every replica
creates an ephemeral sequential node under ``<root>/controlplane/election``; the one
with the lowest sequence number leads. A replica whose session expires loses its node,
and with it the lead; it re-enters with a new node when it reconnects. Two replicas may
both believe they lead for a moment around an expiry; that is harmless here because
every write they make is a compare-and-set (ZooKeeper) or compare-the-state (DB) step.

Loop (one thread, every ``switch_poll_interval_s``):
- leader check;
- advance every in-flight switch (switch watcher);
- every ``reconcile_interval_s``: re-apply every deployment's desired state (DB) to its
  ZooKeeper (directive missing, different, or behind the DB's epoch), and record epochs
  written by a replica that died before recording them;
- every ``lag_sample_interval_s``: one lag sample per deployment.
A failing task is logged and counted (``turnout_background_errors_total``) and retried
on the next turn; it never stops the loop.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from turnout.controlplane.coordination import apply_directive
from turnout.controlplane.errors import NotFoundError
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.models import Deployment
from turnout.controlplane.runtime import Runtime
from turnout.controlplane.services.deployments import (
    desired_state,
    get_deployment,
    in_flight_switch,
    link_of,
    paths_of,
)
from turnout.controlplane.services.livestate import sample_lag
from turnout.controlplane.services.switches import advance_switch, in_flight_ids
from turnout.controlplane.zklinks import ZkDownError
from turnout.protocol.directives import DirectiveConflictError
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkError, ZkNoNodeError

log = logging.getLogger(__name__)

#: How long a stopping worker waits for its current turn to finish.
STOP_TIMEOUT_S = 10.0
#: Partition lists of a live binding are cached this long during a switch: topics do not
#: grow in the middle of one, and asking Kafka at every 50 ms poll would be wasteful.
PARTITIONS_CACHE_S = 10.0


class Election:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        root = runtime.settings.zookeeper_root
        self._dir = f"{'' if root == '/' else root}/controlplane/election"
        self._node: str | None = None

    def is_leader(self) -> bool:
        try:
            gateway = self._runtime.zk.require(self._runtime.settings.zookeeper_connect)
            if self._node is not None and gateway.exists(self._node) is None:
                self._node = None  # our session expired and took the node with it
            if self._node is None:
                if gateway.exists(self._dir) is None:
                    # Parents open to all (agents create deployments' siblings under the
                    # root); only the election nodes carry the control plane's ACL.
                    link = self._runtime.zk.get(self._runtime.settings.zookeeper_connect)
                    with link.open_session() as opened:
                        opened.ensure_path(self._dir)
                self._node = gateway.create(
                    f"{self._dir}/n-",
                    self._runtime.settings.replica_id.encode(),
                    ephemeral=True,
                    sequence=True,
                )
            children = gateway.children(self._dir)
        except (ZkDownError, ZkError):
            return False
        return bool(children) and f"{self._dir}/{min(children)}" == self._node

    def resign(self) -> None:
        node, self._node = self._node, None
        if node is None:
            return
        # If this fails, the session ends right after and the node goes with it.
        with contextlib.suppress(ZkDownError, ZkNoNodeError, ZkError):
            self._runtime.zk.require(self._runtime.settings.zookeeper_connect).delete(node)


class BackgroundWorker:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._election = Election(runtime)
        self._thread = threading.Thread(target=self._run, name="controlplane-worker", daemon=True)
        self._partitions: dict[int, tuple[float, list[PartitionId] | None]] = {}
        self._last_reconcile = 0.0
        self._last_sample = 0.0
        self.leading = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT_S)
        self._election.resign()

    def _run(self) -> None:
        settings = self._runtime.settings
        while not self._stop.is_set():
            self.leading = self._election.is_leader()
            self._runtime.metrics.leader.set(1 if self.leading else 0)
            if self.leading:
                self._guarded("switches", self.advance_switches)
                now = time.monotonic()
                if now - self._last_reconcile >= settings.reconcile_interval_s:
                    self._last_reconcile = now
                    self._guarded("reconcile", self.reconcile)
                if now - self._last_sample >= settings.lag_sample_interval_s:
                    self._last_sample = now
                    self._guarded("lag", self.sample_lag)
            self._stop.wait(settings.switch_poll_interval_s)

    def _guarded(self, task: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # the loop must survive anything; the failure is logged + counted
            self._runtime.metrics.background_errors.labels(task).inc()
            log.exception("background task %s failed; retrying next turn", task)

    def _live_partitions(self, deployment: Deployment) -> list[PartitionId] | None:
        now = time.monotonic()
        cached = self._partitions.get(deployment.id)
        if cached is not None and now - cached[0] < PARTITIONS_CACHE_S and cached[1]:
            return cached[1]
        try:
            found: list[PartitionId] | None = self._runtime.kafka.partitions(
                deployment.cluster.kafka_bootstrap, deployment.live["topics"]
            )
        except KafkaDownError as exc:
            log.warning("cannot list partitions of %s: %s", deployment.name, exc)
            found = None
        self._partitions[deployment.id] = (now, found)
        return found

    def advance_switches(self) -> None:
        with self._runtime.sessions() as session:
            ids = in_flight_ids(session)
        for switch_id in ids:
            with self._runtime.sessions() as session:
                advance_switch(self._runtime, session, switch_id, self._live_partitions)

    def reconcile(self) -> None:
        with self._runtime.sessions() as session:
            names = list(session.scalars(select(Deployment.name)))
        for name in names:
            with self._runtime.sessions() as session:
                # Hold the row while writing ZooKeeper: a request that changes the
                # deployment meanwhile waits, so a stale reading is never written over
                # its newer directive (requests lock the row the same way).
                try:
                    deployment = get_deployment(session, name, for_update=True)
                except NotFoundError:
                    continue
                running = in_flight_switch(session, deployment)
                try:
                    epoch = apply_directive(
                        link_of(self._runtime, deployment),
                        paths_of(deployment),
                        desired_state(deployment),
                        known_epoch=deployment.epoch,
                        operation_id=None if running is None else running.id,
                    )
                except (ZkDownError, DirectiveConflictError) as exc:
                    log.warning("reconcile %s: %s", name, exc)
                    continue
                if epoch > deployment.epoch:
                    # ZooKeeper differed from the DB (or a replica died before recording
                    # the epoch it wrote): either way the DB now knows the epoch in force.
                    self._runtime.metrics.reconciled.inc()
                    deployment.epoch = epoch
                    session.commit()

    def sample_lag(self) -> None:
        with self._runtime.sessions() as session:
            names = list(session.scalars(select(Deployment.name)))
        for name in names:
            with self._runtime.sessions() as session:
                deployment = session.scalar(select(Deployment).where(Deployment.name == name))
                if deployment is not None:
                    sample_lag(self._runtime, session, deployment)
