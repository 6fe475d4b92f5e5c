"""The leader loop: on the elected replica, follow switches, reconcile ZooKeeper with the
database, sample lag.

Every replica runs the loop; only the one that leads the election
(``coordination.election``) does the work, so the replicas can all serve the API while
exactly one (give or take a moment around a session expiry, which the compare-and-set
writes make harmless) changes state in the background.

One thread, every ``switch_poll_interval_s``:

- election check (``turnout_reconciler_leader`` is 1 while leading);
- advance every in-flight switch (``services.switch_watcher``);
- every ``reconcile_interval_s``: re-apply every deployment's desired state
  (``services.reconciler``);
- every ``lag_sample_interval_s``: one lag sample per deployment (``services.live_state``).

A failing task is logged and counted (``turnout_background_errors_total{task}``) and
retried on the next turn; it never stops the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.election import LeaderElection
from turnout.controlplane.errors import NotFoundError
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.models import Deployment
from turnout.controlplane.queries import deployment_names, get_deployment, in_flight_switch_ids
from turnout.controlplane.services.live_state import sample_lag
from turnout.controlplane.services.reconciler import reconcile_deployment
from turnout.controlplane.services.switch_watcher import advance_switch
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: How long a stopping loop waits for its current turn to finish.
STOP_TIMEOUT_S = 10.0
#: Partition lists of a live binding are cached this long during a switch: topics do not
#: grow in the middle of one, and asking Kafka at every 50 ms poll would be wasteful.
PARTITIONS_CACHE_S = 10.0


class LeaderLoop:
    def __init__(self, context: AppContext) -> None:
        settings = context.settings
        self._context = context
        self._stop = threading.Event()
        self._election = LeaderElection(
            context.zookeeper,
            connect=settings.zookeeper_connect,
            root=settings.zookeeper_root,
            replica_id=settings.replica_id,
        )
        self._thread = threading.Thread(target=self._run, name="controlplane-leader", daemon=True)
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
        settings = self._context.settings
        while not self._stop.is_set():
            self.leading = self._election.is_leader()
            self._context.metrics.leader.set(1 if self.leading else 0)
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
            self._context.metrics.background_errors.labels(task).inc()
            log.exception("background task %s failed; retrying next turn", task)

    def _live_partitions(self, deployment: Deployment) -> list[PartitionId] | None:
        now = time.monotonic()
        cached = self._partitions.get(deployment.id)
        if cached is not None and now - cached[0] < PARTITIONS_CACHE_S and cached[1]:
            return cached[1]
        try:
            found: list[PartitionId] | None = self._context.kafka.binding_partitions(
                self._context.kafka_of(deployment.cluster), deployment.live_binding()
            )
        except KafkaDownError as exc:
            log.warning("cannot list partitions of %s: %s", deployment.name, exc)
            found = None
        self._partitions[deployment.id] = (now, found)
        return found

    # The loop's reads go through read-only sessions: on SQLite a session that may write
    # takes the one write lock for its whole transaction (``db.py``), and these run every
    # ``switch_poll_interval_s``; each service takes the lock only to write.

    def advance_switches(self) -> None:
        with self._context.read_sessions() as reading:
            ids = in_flight_switch_ids(reading)
        for switch_id in ids:
            advance_switch(self._context, switch_id, self._live_partitions)

    def reconcile(self) -> None:
        with self._context.read_sessions() as reading:
            names = deployment_names(reading)
        for name in names:
            reconcile_deployment(self._context, name)

    def sample_lag(self) -> None:
        with self._context.read_sessions() as reading:
            names = deployment_names(reading)
        for name in names:
            with self._context.sessions() as session:
                try:
                    deployment = get_deployment(session, name)
                except NotFoundError:
                    continue
                sample_lag(self._context, session, deployment)
