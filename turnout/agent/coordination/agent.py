"""``Agent``: the agent as the embedding application sees it, and its thread.

``start()`` serves the metrics (if configured), builds the agent's parts (``AgentLoop``,
with the dispatcher) and runs them on the agent thread; it returns at once. ``stop()``
asks the thread to drain, commit, release and deregister, and waits for it. Every other
method reads what the thread shows (``StatusBoard``) and is safe from any thread.

Threads: the agent thread (``AgentLoop``); the heartbeat thread (``Session``); the
dispatcher's workers, which run the handler (and fetch, if the dispatcher can); kazoo's
event thread, whose callbacks only take notes for the agent thread (``EventIntake``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from turnout.agent.config import AgentConfig
from turnout.agent.coordination.loop import DEFAULT_STOP_TIMEOUT_S, AgentLoop
from turnout.agent.coordination.settings_follower import SettingsFrom
from turnout.agent.coordination.states import AgentState
from turnout.agent.coordination.status_board import StatusBoard
from turnout.agent.dispatch import DispatcherFactory, Handler
from turnout.agent.environment import AgentEnvironment
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.agent.work.deployment import CodePolicy
from turnout.protocol import InstanceStatus
from turnout.protocol.partitions import PartitionId

#: How long ``stop()`` waits, past its timeout, for the loop to say it finished ...
STOP_GRACE_S = 1.0
#: ... and then for the agent thread to end (it closes the clients and the metrics
#: server after saying so).
THREAD_JOIN_S = 1.0
#: How often ``wait_for`` looks at its predicate.
WAIT_FOR_POLL_S = 0.02

logger = logging.getLogger("turnout.agent")


class Agent:
    """One agent instance. ``start()`` returns at once; ``stop()`` drains and releases.

    ``handler(record)`` is called once per record, in offset order per partition (with
    the default dispatcher). ``dispatcher_factory`` plugs in another ``Dispatcher``
    (the work manager's): it is called once, at ``start()``, with a
    :class:`DispatchContext` carrying the handler and the ownership gate ``may_start``
    the dispatcher must consult before starting each record. ``observer`` receives
    claim/release/commit/fence events.

    How it processes: with ``settings_from="deployment"`` (the default without a
    ``dispatcher_factory``) the deployment's processing settings (the directive's
    ``processing``) drive a work manager, applied live at a safe point whenever they
    change; the code's dispatcher (the factory's, or the sequential one for a plain
    per-record handler, the work manager at its defaults for a batch or coroutine one)
    runs while the directive carries none. With ``settings_from="code"`` (the default
    with a ``dispatcher_factory``) the code's dispatcher always runs. ``code_policy``
    says what the code fixes either way: a batch handler, and a failure decision per
    exception type the deployment cannot override (``turnout.agent.work.CodePolicy``).
    """

    def __init__(
        self,
        config: AgentConfig,
        handler: Handler,
        *,
        dispatcher_factory: DispatcherFactory | None = None,
        observer: AgentObserver | None = None,
        environment: AgentEnvironment | None = None,
        settings_from: SettingsFrom | None = None,
        code_policy: CodePolicy | None = None,
    ) -> None:
        self.config = config
        self._settings_from = settings_from
        self._code_policy = code_policy
        self.metrics = AgentMetrics(config.deployment, config.instance)
        self._handler = handler
        self._dispatcher_factory = dispatcher_factory
        self._observer = observer
        self._environment = environment
        self._board = StatusBoard(
            config,
            self.metrics,
            ContextLog(logger, {"instance": config.instance, "deployment": config.deployment}),
        )
        self._loop: AgentLoop | None = None
        self._thread: threading.Thread | None = None
        self._metrics_server: WSGIServer | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Start the agent's threads and return at once."""
        if self._thread is not None:
            raise RuntimeError("agent already started")
        if self.config.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                self.config.metrics_port, registry=self.metrics.registry
            )
        try:
            self._loop = AgentLoop(
                self.config,
                self._handler,
                dispatcher_factory=self._dispatcher_factory,
                observer=self._observer,
                environment=self._environment,
                metrics=self.metrics,
                board=self._board,
                settings_from=self._settings_from,
                code_policy=self._code_policy,
            )
        except BaseException:
            self._close_metrics_server()
            raise
        self._thread = threading.Thread(
            target=self._run, name=f"turnout-agent-{self.config.instance}", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self._loop is not None
        try:
            self._loop.run()
        finally:
            self._close_metrics_server()

    def _close_metrics_server(self) -> None:
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Drain in-flight work, commit, release every partition, deregister; True if
        that finished within ``timeout`` seconds."""
        if self._thread is None or self._loop is None:
            return True
        self._loop.request_stop(timeout)
        finished = self._loop.stopped.wait(timeout + STOP_GRACE_S)
        self._thread.join(timeout=THREAD_JOIN_S)
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

    # ---- what it shows ------------------------------------------------------------------

    @property
    def state(self) -> AgentState:
        return self._board.state

    @property
    def session(self) -> tuple[int, bytes] | None:
        """(session id, password) of the agent's ZooKeeper session, for tooling and tests."""
        gateway = self._loop.session.gateway if self._loop is not None else None
        return gateway.client_id if gateway is not None else None

    @property
    def metrics_registry(self) -> object:
        return self.metrics.registry

    def status(self) -> InstanceStatus:
        """A snapshot of what the agent owns, its epoch, counters and recent errors."""
        return self._board.shown()

    def owned(self) -> frozenset[PartitionId]:
        return frozenset((p.topic, p.partition) for p in self.status().owned)

    def wait_for(self, predicate: Callable[[Agent], bool], timeout: float) -> bool:
        """Poll ``predicate(self)`` until true or ``timeout``; for tests and tooling."""
        deadline = time.monotonic() + timeout  # real time: the caller's thread waits
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(WAIT_FOR_POLL_S)
        return predicate(self)
