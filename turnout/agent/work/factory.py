"""Plugging the work manager into the agent: ``Agent(config, handler, dispatcher_factory=...)``.

The agent calls the factory once, at ``start()``, with a ``DispatchContext``; the manager
gets the agent's handler (unless a batch handler is given), the ownership gate it must
consult before starting each record, and the agent's metrics registry.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence

from turnout.agent.dispatch import DispatchContext, DispatcherFactory
from turnout.agent.metrics import AgentMetrics
from turnout.agent.records import Record
from turnout.agent.work.config import WorkConfig
from turnout.agent.work.dead_letters import DeadLetterSink
from turnout.agent.work.manager import WorkManager
from turnout.agent.work.outcomes import EscalationCallback, FailureCallback
from turnout.protocol.partitions import PartitionId


def work_manager_factory(
    config: WorkConfig,
    *,
    handler: Callable[[Record], object] | None = None,
    batch_handler: Callable[[Sequence[Record]], object] | None = None,
    on_failure: FailureCallback | None = None,
    on_escalation: EscalationCallback | None = None,
    dead_letters: Callable[[], DeadLetterSink] | None = None,
    on_built: Callable[[WorkManager], None] | None = None,
    on_closed: Callable[[float], None] | None = None,
    commits_offsets: bool = False,
    on_abandoned: Callable[[PartitionId], None] | None = None,
) -> DispatcherFactory:
    """A ``dispatcher_factory`` for ``Agent``.

    ``dead_letters`` builds the sink when the agent starts (e.g.
    ``lambda: DeadLetterProducer(bootstrap, group)``), so nothing connects before that.
    ``on_built`` receives the manager, for ``resume()`` and lag reporting. ``handler``
    replaces the agent's handler (a processor's runner, say); ``on_closed`` is called with
    the time left when the manager closes (to close what the handler writes through);
    ``commits_offsets``: the handler commits the offsets itself (``CommitsOwnOffsets``);
    ``on_abandoned``: told of a partition whose release gave up on its running records.
    """

    def build(context: DispatchContext) -> WorkManager:
        processed = _ProcessedSource.of(context.metrics)

        def closed(time_left_s: float) -> None:
            processed.retire(manager)
            if on_closed is not None:
                on_closed(time_left_s)

        manager = WorkManager(
            config,
            handler=None if batch_handler is not None else (handler or context.handler),
            batch_handler=batch_handler,
            on_failure=on_failure,
            on_escalation=on_escalation,
            dead_letters=dead_letters() if dead_letters is not None else None,
            registry=context.metrics.registry,
            gate=context.may_start,
            on_closed=closed,
            commits_offsets=commits_offsets,
            on_abandoned=on_abandoned,
            on_held=context.report_error,
        )
        # The agent's status (and the control plane's instances table) shows the records
        # the manager completed; the agent's own counter sees only the sequential path.
        processed.follow(manager)
        if on_built is not None:
            on_built(manager)
        return manager

    return build


class _ProcessedSource:
    """The agent's ``records_processed`` from its work managers: one counter source per
    agent, summing every manager built for it (an agent replaces its manager when its
    processing settings change; a replaced one's count stays).

    A closed manager leaves its count and is let go: held here, it would keep its whole
    agent (consumers, producers, the metrics this source is filed under) alive for good."""

    def __init__(self) -> None:
        #: The managers still open.
        self._managers: list[WorkManager] = []
        #: What the closed managers completed.
        self._retired = 0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, metrics: AgentMetrics) -> _ProcessedSource:
        with _SOURCES_LOCK:
            source = _SOURCES.get(metrics)
            if source is None:
                source = _SOURCES[metrics] = cls()
                metrics.add_counter_source(source.counters)
            return source

    def follow(self, manager: WorkManager) -> None:
        with self._lock:
            self._managers.append(manager)

    def retire(self, manager: WorkManager) -> None:
        with self._lock:
            if manager in self._managers:
                self._managers.remove(manager)
                self._retired += manager.processed_total()

    def counters(self) -> Mapping[str, float]:
        with self._lock:
            managers = list(self._managers)
            done = self._retired
        done += sum(manager.processed_total() for manager in managers)
        return {"records_processed": float(done)}


_SOURCES: weakref.WeakKeyDictionary[AgentMetrics, _ProcessedSource] = weakref.WeakKeyDictionary()
_SOURCES_LOCK = threading.Lock()
