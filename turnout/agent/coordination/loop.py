"""The agent thread's work: one step at a time, then the stop.

``AgentLoop`` builds the agent's parts and runs them in a fixed order each step; it does
every ZooKeeper write, every Kafka call but a fetching dispatcher's polls, and all
bookkeeping. ``Agent`` runs ``run`` on its thread; a test can call ``step`` itself.

A step::

    connect (no gateway yet) ─▶ connection events (session loss: the fence drops all)
    ─▶ register (not registered) ─▶ fence check ─▶ claims whose owner nodes went
    ─▶ reconcile (events or resync; new processing settings, ``SettingsFollower``, are
       applied between its read of the directive and its claims) or a look at the
       published assignment ─▶ new processing settings (a no-op if the reconcile did)
    ─▶ metadata poll ─▶ fetch (poll, or tend a fetching dispatcher) ─▶ due commits
    ─▶ status ─▶ the dispatcher asked to stop?

Failures: a ZooKeeper or Kafka error that interrupts a step is not a bug: everything is
level-triggered, so the next steps redo what this one could not; a sweep is asked for
(nodes it may have created unseen) and the thread pauses ``STEP_RETRY_S``. Any other
exception ends the thread: FAILED, work stopped, and the session closed so that its
ephemerals (and with them the ownership) go at once.

Stopping (STOPPING ─▶ STOPPED): the gate shuts; the instance node goes first, so peers
start their rebalance (and wait on our owner nodes) while this instance drains; every
partition is released with its final commit (forced at the deadline); the dispatcher
closes; the status node goes; the clients close.
"""

from __future__ import annotations

import logging
import threading

from confluent_kafka import KafkaException

from turnout.agent.config import AgentConfig
from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.fence import Fence
from turnout.agent.coordination.intake import EventIntake
from turnout.agent.coordination.reconciler import Reconciler
from turnout.agent.coordination.session import Session
from turnout.agent.coordination.settings_follower import SettingsFollower, SettingsFrom
from turnout.agent.coordination.states import AgentState
from turnout.agent.coordination.status_board import StatusBoard
from turnout.agent.coordination.status_publisher import StatusPublisher
from turnout.agent.datapath import POLL_TIMEOUT_S, DataPath, DataPathContext
from turnout.agent.dispatch import DispatcherFactory, Handler
from turnout.agent.environment import AgentEnvironment
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.agent.work.deployment import (
    CodePolicy,
    code_dispatcher_factory,
    settings_builder,
)
from turnout.protocol import DeploymentPaths
from turnout.zk import ZkError

#: Pause after a step interrupted by a ZooKeeper or Kafka error, so an outage costs a
#: few log lines per second rather than a busy loop.
STEP_RETRY_S = 0.2
#: Retry a failed ZooKeeper connect/registration this often (the agent thread's pace
#: while ZooKeeper is down).
CONNECT_RETRY_S = 1.0
#: ``stop()`` default: the drain of in-flight work plus final commits and deletes.
DEFAULT_STOP_TIMEOUT_S = 30.0
#: Of the stop's time, what the releases leave for closing the dispatcher and deleting
#: the status node.
STOP_RESERVE_S = 0.5

logger = logging.getLogger("turnout.agent")


class AgentLoop:
    """The agent's parts, built (with the dispatcher, whose workers may start at once),
    and the agent thread's work over them."""

    def __init__(
        self,
        config: AgentConfig,
        handler: Handler,
        *,
        dispatcher_factory: DispatcherFactory | None = None,
        observer: AgentObserver | None = None,
        environment: AgentEnvironment | None = None,
        metrics: AgentMetrics | None = None,
        board: StatusBoard | None = None,
        settings_from: SettingsFrom | None = None,
        code_policy: CodePolicy | None = None,
    ) -> None:
        env = environment or AgentEnvironment()
        self._clock = env.clock
        self.config = config
        self.metrics = metrics or AgentMetrics(config.deployment, config.instance)
        log = self._log = ContextLog(
            logger, {"instance": config.instance, "deployment": config.deployment}
        )
        paths = DeploymentPaths(config.zk_root, config.deployment)
        self.board = board or StatusBoard(config, self.metrics, log)
        self.intake = EventIntake(paths, self._clock)
        context = CoordinationContext(
            config=config,
            paths=paths,
            environment=env,
            intake=self.intake,
            board=self.board,
            metrics=self.metrics,
            observer=observer,
            log=log,
        )
        self.session = Session(context)
        code = code_policy or CodePolicy()
        code_factory = dispatcher_factory or code_dispatcher_factory(handler, code)
        self.data = DataPath(
            DataPathContext(
                config=config,
                paths=paths,
                environment=env,
                session=self.session,
                requests=self.intake,
                reports=self.board,
                metrics=self.metrics,
                observer=observer,
                log=log,
            ),
            code_factory,
            handler,
        )
        self.settings = SettingsFollower(
            context,
            self.session,
            self.data,
            settings_from=settings_from or ("code" if dispatcher_factory else "deployment"),
            code_factory=code_factory,
            build=settings_builder(code, config.kafka, config.kafka_client_properties),
        )
        self.reconciler = Reconciler(context, self.session, self.data, self.settings.follow)
        self.fence = Fence(context, self.session.lease, self.data, self.reconciler.steady_state)
        self.status = StatusPublisher(context, self.session, self.data.feed, self.reconciler)
        #: Set when the loop has finished (stopped or failed): its clients are closing.
        self.stopped = threading.Event()
        self._stop_requested = threading.Event()
        self._stop_deadline = 0.0

    def run(self) -> None:
        """Step until a stop is asked for, then stop; the agent thread's whole life."""
        try:
            while not self._stop_requested.is_set():
                self.intake.wait(self.step())
            self.shutdown()
        except Exception as exc:
            self.board.set_state(AgentState.FAILED)
            self.board.report_error(f"agent thread failed: {type(exc).__name__}: {exc}")
            self._log.exception("agent thread failed", extra={"event": "agent_failed"})
            self._abandon()
        finally:
            self.status.refresh()
            self.stopped.set()

    def request_stop(self, timeout_s: float) -> None:
        """Ask the loop to stop within ``timeout_s`` (any thread)."""
        self._stop_deadline = self._clock() + timeout_s
        self._stop_requested.set()
        self.intake.wake()

    def step(self) -> float:
        """One step; how long the thread may then wait for an event (0: go on at once).
        A ZooKeeper or Kafka outage interrupting the step is absorbed here."""
        try:
            return self._step()
        except (ZkError, KafkaException) as exc:
            self.intake.request_sweep()
            self.board.report_error(f"step interrupted: {type(exc).__name__}: {exc}")
            self.intake.reconcile_soon()
            return STEP_RETRY_S

    def _step(self) -> float:
        session = self.session
        if session.gateway is None and not session.connect():
            return CONNECT_RETRY_S
        session.handle_connection_events(self.fence.session_lost)
        if not session.registered and not session.register():
            return CONNECT_RETRY_S
        self.fence.check()
        lease = session.lease
        reconciler = self.reconciler
        now = self._clock()
        if not self.intake.directive_changed() and lease.valid() and self.intake.take_claims_due():
            # Owner nodes we wait for went: claim before any debounced reconcile. A new
            # directive goes first, though: it may make these claims moot.
            reconciler.claim_pending()
        if reconciler.due(now):
            reconciler.reconcile()  # a new directive's reconcile claims too
        elif lease.valid() and self.intake.take_assignment_changed():
            reconciler.check_assignment()
        if lease.valid():
            self.settings.follow(reconciler.directive)
        reconciler.poll_metadata(now)
        feed = self.data.feed
        if feed.fetch_delegated:
            feed.tend()
        else:
            feed.pump()
        self.data.commit_due()
        self.status.publish_if_due()
        reason = feed.dispatcher.stop_reason()
        if reason:
            self.board.report_error(f"the dispatcher asked to stop: {reason}")
            self._stop_deadline = self._clock() + DEFAULT_STOP_TIMEOUT_S
            self._stop_requested.set()
        if feed.fetch_delegated or feed.source is None or not feed.source.has_assignment:
            # Not blocked in a poll (none to make, or the dispatcher's workers make
            # them): wait for an event, at most as long as a poll would have taken.
            return POLL_TIMEOUT_S
        return 0.0

    def shutdown(self) -> None:
        """Stop cleanly: drain, commit, release, deregister, close (see the module)."""
        self.board.set_state(AgentState.STOPPING)
        deadline = self._stop_deadline or self._clock() + DEFAULT_STOP_TIMEOUT_S
        feed = self.data.feed
        feed.active = frozenset()
        feed.update_pauses()
        self.session.deregister()
        if self.session.gateway is not None and self.session.lease.valid():
            self.data.releases.release_many(list(feed.held), deadline - STOP_RESERVE_S, force=True)
        for tp in list(feed.held):
            self.data.releases.drop(tp)
        feed.dispatcher.close(max(0.0, deadline - self._clock()))
        self.session.delete_status()
        self._close_clients()
        self.board.set_state(AgentState.STOPPED)
        self._log.info("stopped", extra={"event": "stopped"})

    def _abandon(self) -> None:
        """After a failure: stop work and close the session (its ephemerals go with it)."""
        feed = self.data.feed
        feed.active = frozenset()
        try:
            feed.dispatcher.close(0.0)
        except Exception:
            self._log.exception("dispatcher close failed")
        feed.held.clear()
        self._close_clients()

    def _close_clients(self) -> None:
        self.stopped.set()
        self.data.feed.close_source()
        self.session.close()
