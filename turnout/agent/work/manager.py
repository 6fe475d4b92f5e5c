"""The work manager: a ``Dispatcher`` (``turnout/agent/dispatch.py``) with ordering modes,
retries, failure decisions, dead letters and highest-contiguous commit points.

This module is the facade: it builds the pieces, wires them to one lock, and answers the
``Dispatcher`` calls by asking them. Each piece is one concept with its state machine in
its docstring:

- ``lifecycle.py``: RUNNING / HALTED / CLOSED, read by every piece;
- ``flow.py``: records in flight, ``wants_more`` / ``has_room`` / ``wait_for_room``, the
  circuit breaker;
- ``scheduler.py``: the inbox, lanes (data in ``lanes.py``), the ready queue, retry
  timers, waking workers, the fetching hand-off;
- ``worker_contract.py``: what a worker is given and how it reports a run, one contract
  for every kind of worker;
- ``thread_worker.py`` / ``coroutine_worker.py``: the workers, for plain-function and
  coroutine handlers (the per-record path is in ``thread_worker.py``);
- ``settlement.py``: what a run's outcome does to the books;
- ``failure_policy.py``: retries, failure decisions, dead letters, escalation, halting
  (its counters in ``guards.py``, the user's side of it in ``outcomes.py``);
- ``supervisor.py``: due retries, progress inside long runs, gate rechecks, the watchdog;
- ``completion.py``: per-partition completion tracking (the commit point).

Around them: ``config.py`` (``WorkConfig``), ``dead_letters.py`` (the dead-letter
producer), ``metrics.py``, and ``factory.py`` (plugging a manager into the agent).

One lock, shared by all of them and passed to each explicitly: a run's path crosses the
scheduler, the settlement and flow control, and one lock taken about twice per run (never
around a handler or a user callback, never per record) costs less than a lock per piece.
``submit_run`` takes it only to wake a worker or the supervisor. The per-record path
holds no lock: a flag read per record, the gate and the clock per chunk of records.

Threads (all daemon, all owned here): ``workers`` worker threads, or for coroutine
handlers one event-loop thread running ``workers`` tasks; the supervisor; and the
dead-letter sink's poll thread (the sink's own).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from turnout.agent.dispatch import CommitPoint, Fetch
from turnout.agent.records import Record
from turnout.agent.work.config import WorkConfig
from turnout.agent.work.coroutine_worker import CoroutineWorkers
from turnout.agent.work.dead_letters import DeadLetterSink
from turnout.agent.work.failure_policy import FailurePolicy
from turnout.agent.work.flow import FlowControl
from turnout.agent.work.lanes import PartitionWork
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.metrics import ScrapeReadings, WorkMetrics
from turnout.agent.work.outcomes import EscalationCallback, FailureCallback
from turnout.agent.work.scheduler import Scheduler
from turnout.agent.work.settlement import Settlement
from turnout.agent.work.supervisor import Supervisor
from turnout.agent.work.thread_worker import ThreadWorker, ThreadWorkers
from turnout.agent.work.worker_contract import WorkerContext
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: close() waits this long for the event-loop thread to end after stopping its loop.
LOOP_STOP_TIMEOUT_S = 2.0

AnyHandler = Callable[[Any], object]


class WorkManager:
    """A ``Dispatcher`` for one agent.

    Give exactly one of ``handler`` (one record per call) or ``batch_handler`` (a list of
    consecutive records of one lane per call); either may be a plain function or a coroutine
    function.
    """

    def __init__(
        self,
        config: WorkConfig,
        *,
        handler: AnyHandler | None = None,
        batch_handler: Callable[[Sequence[Record]], object] | None = None,
        on_failure: FailureCallback | None = None,
        on_escalation: EscalationCallback | None = None,
        dead_letters: DeadLetterSink | None = None,
        registry: CollectorRegistry | None = None,
        gate: Callable[[PartitionId], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_closed: Callable[[float], None] | None = None,
        commits_offsets: bool = False,
        on_abandoned: Callable[[PartitionId], None] | None = None,
        on_held: Callable[[str], None] | None = None,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler or batch_handler")
        chosen: AnyHandler = handler if handler is not None else batch_handler  # type: ignore[assignment]
        per_batch = batch_handler is not None
        self._is_async = inspect.iscoroutinefunction(chosen)
        self._config = config
        self._dead_letters = dead_letters
        #: Called last in ``close`` with the time left: what the handler writes through.
        self._on_closed = on_closed
        self._commits_offsets = commits_offsets
        #: Called (without the lock) when ``close_partition`` gives up on running records,
        #: before it returns: a handler that commits offsets itself stops that
        #: ownership's commits there, before the agent releases the partition.
        self._on_abandoned = on_abandoned
        self._lock = lock = threading.Lock()
        self._lifecycle = lifecycle = Lifecycle()
        self._parts: dict[PartitionId, PartitionWork] = {}
        #: Records the handler completed on partitions closed since, per topic: the
        #: processed counts never go down when partitions close.
        self._processed_closed: dict[str, int] = {}
        self._flow = flow = FlowControl(
            config, lock=lock, parts=self._parts, lifecycle=lifecycle, clock=clock
        )
        self._scheduler = scheduler = Scheduler(
            config, per_batch=per_batch, lock=lock, flow=flow, lifecycle=lifecycle, clock=clock
        )
        flow.on_room = scheduler.room_freed
        self._metrics = metrics = WorkMetrics.for_registry(
            registry if registry is not None else CollectorRegistry()
        )
        #: The thread workers (none for a coroutine handler).
        self._workers = workers = (
            [] if self._is_async else [ThreadWorker() for _ in range(config.workers)]
        )
        policy = FailurePolicy(
            config,
            lock=lock,
            flow=flow,
            scheduler=scheduler,
            lifecycle=lifecycle,
            metrics=metrics,
            clock=clock,
            workers=workers,
            on_failure=on_failure,
            on_escalation=on_escalation,
            dead_letters=dead_letters,
            on_held=on_held,
        )
        settlement = Settlement(
            per_batch=per_batch,
            lock=lock,
            flow=flow,
            scheduler=scheduler,
            policy=policy,
            lifecycle=lifecycle,
            clock=clock,
        )
        self._supervisor = supervisor = Supervisor(
            task_timeout_s=config.task_timeout,
            per_batch=per_batch,
            lock=lock,
            scheduler=scheduler,
            settlement=settlement,
            flow=flow,
            lifecycle=lifecycle,
            workers=workers,
            gate=gate,
            clock=clock,
        )
        self._threads: list[threading.Thread] = []
        self._coroutines: CoroutineWorkers | None = None
        context = WorkerContext(
            chosen, per_batch, lock, scheduler, settlement.settle, lifecycle, gate, clock
        )
        if self._is_async:
            self._coroutines = coroutines = CoroutineWorkers(
                config.workers, context, timeout_s=config.task_timeout
            )
            latency = coroutines.latency
            threads = [("turnout-work-loop", coroutines.main)]
        else:
            pool = ThreadWorkers(workers, context, metrics.late_results)
            latency = [worker.latency for worker in workers]
            threads = pool.targets()
        metrics.attach(self._readings, lambda: list(latency))
        for name, target in threads:
            self._start_thread(name, target)
        if self._coroutines is not None:
            self._coroutines.started.wait()
        self._start_thread("turnout-work-supervisor", supervisor.main)

    def _start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # ---- Dispatcher ---------------------------------------------------------------------

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        scheduler = self._scheduler
        with self._lock:
            if scheduler.inbox:
                scheduler.route_inbox()
            old = self._parts.get(tp)
            if old is not None:
                # Opened again without a close: the old ownership's results are void.
                scheduler.drop_queued(old)
                old.closed = True
            self._parts[tp] = scheduler.new_partition(tp, next_offset, skip)

    def submit(self, record: Record) -> None:
        self.submit_run((record.topic, record.partition), [record])

    def submit_run(self, tp: PartitionId, records: Sequence[Record]) -> None:
        # Lock-free unless a worker or the supervisor must be woken.
        part = self._parts.get(tp)
        if part is None or part.closing or not records:
            return
        self._scheduler.submit(part, records)
        if self._supervisor.resting:
            self._supervisor.wake()

    def wants_more(self, tp: PartitionId) -> bool:
        return self._flow.wants_more(tp)

    def has_room(self) -> bool:
        return self._flow.has_room()

    def wait_for_room(self, timeout_s: float) -> None:
        self._flow.wait_for_room(timeout_s)

    def room_in_records(self) -> int:
        return self._flow.room_in_records()

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        # The inbox is left to the workers (the consume loop calls this every step): a
        # record not routed yet is past the tracker's frontier, so the point is the same.
        with self._lock:
            part = self._parts.get(tp)
            if part is None or part.tracker.version == part.reported_version:
                return None
            part.reported_version = part.tracker.version
            return part.tracker.point(self._config.done_budget_bytes)

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        deadline = time.monotonic() + timeout_s
        scheduler = self._scheduler
        with self._lock:
            if scheduler.inbox:
                scheduler.route_inbox()
            part = self._parts.get(tp)
            if part is None:
                return None
            scheduler.drop_queued(part)
            for worker in self._workers:
                running = worker.run
                if running is not None and running.lane.part is part:
                    worker.interrupt()  # no new record of it starts
            while part.running > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning(
                        "%s/%d: %d records still running after %.1f s; left to the next owner",
                        tp[0], tp[1], part.running, timeout_s,
                    )  # fmt: skip
                    break
                self._flow.drained.wait(left)
            abandoned = part.running > 0
            part.closed = True
            del self._parts[tp]
            self._processed_closed[tp[0]] = self._processed_closed.get(tp[0], 0) + part.processed
            part.reported_version = part.tracker.version
            point = part.tracker.point(self._config.done_budget_bytes)
        if abandoned and self._on_abandoned is not None:
            self._on_abandoned(tp)
        return point

    def stop_reason(self) -> str | None:
        return self._lifecycle.stop_reason

    def commits_offsets(self) -> bool:
        """``CommitsOwnOffsets``: True when the handler commits the offsets itself (an
        exactly-once processor's transactions)."""
        return self._commits_offsets

    def close(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for tp in list(self._parts):
            self.close_partition(tp, max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._lifecycle.closed = True
            self._scheduler.wake_all()
        if self._dead_letters is not None:
            self._dead_letters.close(max(0.0, deadline - time.monotonic()))
        if self._on_closed is not None:
            self._on_closed(max(0.0, deadline - time.monotonic()))
        if self._coroutines is not None:
            self._coroutines.stop()
        # Threads stuck in a handler cannot be stopped; they are daemons and are left behind.
        stop_by = min(deadline, time.monotonic() + LOOP_STOP_TIMEOUT_S)
        for thread in self._threads:
            thread.join(max(0.0, stop_by - time.monotonic()))

    # ---- FetchingDispatcher -------------------------------------------------------------

    def take_over_fetching(self, fetch: Fetch) -> bool:
        """Fetch on the worker threads: a worker with nothing to do fetches, then runs what
        it fetched itself. Not for coroutine handlers (their loop must not block in a
        poll)."""
        if self._is_async:
            return False
        self._scheduler.take_over_fetching(fetch)
        return True

    # ---- extras -------------------------------------------------------------------------

    def resume(self) -> None:
        """Close the circuit breaker now (after an escalation chose PAUSE)."""
        self._flow.close_breaker()

    def set_high_watermark(self, tp: PartitionId, high_watermark: int) -> None:
        """Tell the manager the partition's high watermark; lag = it minus the commit point."""
        part = self._parts.get(tp)
        if part is not None:
            part.high_watermark = high_watermark

    def set_lag(self, tp: PartitionId, lag: int) -> None:
        """Report lag the consume loop computed itself (overrides the high-watermark figure)."""
        part = self._parts.get(tp)
        if part is not None:
            part.lag = lag

    @property
    def in_flight(self) -> int:
        return self._flow.in_flight

    def processed_total(self) -> int:
        """Records completed by the handler since the manager was built."""
        with self._lock:
            open_now = sum(part.processed for part in self._parts.values())
            return open_now + sum(self._processed_closed.values())

    def _readings(self) -> ScrapeReadings:
        with self._lock:
            processed = dict(self._processed_closed)
            in_flight: dict[PartitionId, int] = {}
            lag: dict[PartitionId, int] = {}
            for tp, part in self._parts.items():
                processed[tp[0]] = processed.get(tp[0], 0) + part.processed
                in_flight[tp] = part.accepted - part.retired
                if part.lag is not None:
                    lag[tp] = part.lag
                elif part.high_watermark is not None:
                    point = part.tracker.point(0).next_offset
                    lag[tp] = max(0, part.high_watermark - point)
            abandoned = sum(1 for w in self._workers if w.abandoned)
        return ScrapeReadings(processed, in_flight, lag, abandoned, self._flow.breaker_open())
