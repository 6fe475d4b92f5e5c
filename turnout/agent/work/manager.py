"""The work manager: a ``Dispatcher`` with ordering modes, retries, failure decisions,
dead letters and highest-contiguous commit points.

Threads (all daemon, all owned here):
- ``workers`` worker threads run plain-function handlers; or, for coroutine handlers, one
  event-loop thread runs ``workers`` worker tasks. Inside the agent the worker threads also
  fetch (``take_over_fetching``): one at a time, a worker with nothing to do polls Kafka
  through the agent's data path and then runs what it fetched itself; work a worker makes
  ready is left to it until its run has gone on for ``HELP_AFTER_S``, when it wakes an
  idle worker (``_call_help``).
- one supervisor thread makes due retries ready, reports progress inside long runs and,
  while records are in flight (and a second after), every ``GATE_TRUST_S``: re-asks the
  gate for busy workers' partitions, calls for help for workers stuck in a handler, and
  times plain-function attempts out (the watchdog).
- the dead-letter sink's poll thread reports acknowledgements back.

One lock guards every structure (``_lock``); ``submit_run`` takes it at most once (only to
wake a worker or the supervisor), a worker about twice per run of up to ``run_size``
records, never around a handler or a user callback. The per-record path (``worker.py``)
holds no lock: a flag read per record, the gate and the clock per chunk of records.

Manager states:

    RUNNING --*_AND_STOP, rate guard, escalation STOP, dead-letter error--> HALTED
    RUNNING/HALTED --close()--> CLOSED

HALTED: ``stop_reason()`` is set, ``wants_more`` is False, no new record starts; running
ones finish and the agent drains with ``close_partition``/``close``. The circuit breaker
(escalation PAUSE) is separate: it only makes ``wants_more`` False until it closes.

Timeouts: a coroutine attempt past ``task_timeout`` is cancelled. A thread cannot be killed:
the watchdog declares the attempt failed (``AttemptTimedOut``), hands the rest of the run
back to its lane and schedules the retry; the worker thread stays busy inside the handler
until it returns, and its late result is discarded (``late_results`` metric). That worker
counts as busy meanwhile (``abandoned_handlers`` gauge), so at most ``workers`` handler calls
ever run at once, hung ones included.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from prometheus_client import CollectorRegistry

from turnout.agent.dispatch import GATE_RECHECK_S, CommitPoint, Fetch
from turnout.agent.records import Record, RecordRun, offsets_of
from turnout.agent.work.config import Ordering, WorkConfig
from turnout.agent.work.dead_letters import DeadLetterSink
from turnout.agent.work.guards import Backoff, DeadLetterGuard, FailureWindow
from turnout.agent.work.lanes import Lane, Partition, Retry, Run
from turnout.agent.work.metrics import LatencyBuckets, Snapshot, WorkMetrics
from turnout.agent.work.offsets import OffsetTracker
from turnout.agent.work.outcomes import (
    AttemptTimedOut,
    Escalation,
    EscalationAction,
    EscalationCallback,
    FailedDecision,
    Failure,
    FailureCallback,
    PermanentFailure,
)
from turnout.agent.work.worker import GATE_TRUST_S, HELP_AFTER_S, RunOutcome, ThreadWorker
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: The watchdog looks at running attempts every task_timeout / WATCHDOG_DIVISIONS, so an
#: attempt is declared timed out at most 10 % late...
WATCHDOG_DIVISIONS = 10
#: ...but not more often than this (a tight timeout must not make the thread spin)...
WATCHDOG_MIN_PERIOD_S = 0.005
#: ...nor less often than this (retries and breaker cooldowns are checked on the same beat).
WATCHDOG_MAX_PERIOD_S = 1.0
#: close() waits this long for the event-loop thread to end after stopping its loop.
LOOP_STOP_TIMEOUT_S = 2.0
#: ``has_room`` keeps polling past ``max_ahead`` when the records ahead would take longer
#: than this to finish at the workers' recent pace: they are not catching up, so holding
#: the polls would only slow every partition down to the slowest one's pace.
BEHIND_S = 0.1
#: The supervisor keeps its busy beat this long after records were last in flight.
BUSY_LINGER_S = 1.0
#: The workers' pace is sampled this often (by the consume loop, in ``has_room``)...
PACE_SAMPLE_S = 0.01
#: ...and smoothed by this weight of the newest sample.
PACE_SMOOTHING = 0.5
#: After hitting an in-flight bound, ``wants_more`` stays False until in-flight is back
#: under this fraction of it (see ``wants_more``).
RESUME_FRACTION = 0.5

AnyHandler = Callable[[Any], object]


class WorkManager:
    """A ``Dispatcher`` (see turnout/agent/dispatch.py) for one agent.

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
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler or batch_handler")
        chosen: AnyHandler = handler if handler is not None else batch_handler  # type: ignore[assignment]
        self._config = config
        self._handler = chosen
        self._per_batch = batch_handler is not None
        self._is_async = inspect.iscoroutinefunction(chosen)
        self._on_failure = on_failure or _default_on_failure(dead_letters is not None)
        self._on_escalation = on_escalation or _pause_on_escalation
        self._dead_letters = dead_letters
        self._clock = clock
        self._gate = gate
        self._ordering = config.ordering
        # In unordered mode a record taken into a run would wait behind the slow ones before
        # it in that run; one record per run keeps "a slow record blocks nothing" true.
        if self._per_batch:
            self._take_size = config.batch_size
        elif config.ordering is Ordering.UNORDERED:
            self._take_size = 1
        else:
            self._take_size = config.run_size
        self._max_pp = config.max_in_flight_per_partition
        self._max_total = config.max_in_flight
        self._max_ahead = config.max_ahead
        #: The consume loop's estimate of the workers' pace (``_pace``).
        self._pace_at = clock()
        self._pace_released = 0
        self._pace_rate = 0.0
        self._max_span = config.max_uncommitted_per_partition
        self._backoff = Backoff(
            config.backoff, config.backoff_multiplier, config.backoff_max, config.backoff_jitter
        )
        self._failures = FailureWindow(config.retry_threshold, config.retry_window)
        dl = config.dead_letter
        self._dl_guard = DeadLetterGuard(
            dl.max_ratio, dl.ratio_window, dl.min_samples, dl.max_consecutive
        )

        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._timer = threading.Condition(self._lock)
        #: The consume loop waits here for room (``wait_for_room``); finishing work wakes it.
        self._room = threading.Condition(self._lock)
        self._room_wanted = False
        self._parts: dict[PartitionId, Partition] = {}
        self._ready: deque[Lane] = deque()
        self._retries: list[tuple[float, int, Lane, Retry]] = []
        self._retry_seq = 0
        #: (partition, records in offset order) submitted and not yet routed to a lane.
        self._inbox: deque[tuple[Partition, Sequence[Record]]] = deque()
        #: Records accepted by submit (written only by the consume loop's thread) and
        #: finished or dropped (written under the lock): in flight is the difference.
        self._accepted = 0
        self._released = 0
        #: A worker was woken for the inbox and has not looked at it yet (``_take_locked``
        #: clears it): one is enough, as routing wakes a worker for every lane it makes
        #: ready.
        self._inbox_wake_pending = False
        self._idle_threads = 0
        #: The agent's fetch, once the workers took the fetching over (see ``take_over_fetching``).
        self._fetch: Fetch | None = None
        #: A worker is inside ``_fetch`` (one at a time).
        self._fetching = False
        #: The worker threads' idents: in fetching mode, work a worker makes ready is left
        #: for that worker (it takes it next, or calls for help: ``_call_help_locked``).
        self._worker_idents: set[int] = set()
        #: The supervisor waits out its long beat (nothing in flight): a submit wakes it.
        self._supervisor_resting = False
        #: When the supervisor last saw records in flight.
        self._busy_at = 0.0
        self._halted = False
        self._closed = False
        self._stop_reason: str | None = None
        self._breaker_until: float | None = None

        self._metrics = WorkMetrics(registry if registry is not None else CollectorRegistry())
        self._latency: list[LatencyBuckets] = []
        self._metrics.attach(self._snapshot, lambda: list(self._latency))

        self._workers: list[ThreadWorker] = []
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_waiters: deque[asyncio.Future[None]] = deque()
        self._async_tasks: list[asyncio.Task[None]] = []
        if self._is_async:
            self._start_loop()
        else:
            for i in range(config.workers):
                worker = ThreadWorker()
                self._workers.append(worker)
                self._latency.append(worker.latency)
                self._start_thread(
                    f"turnout-work-{i}", functools.partial(self._thread_main, worker)
                )
        self._watch_period = min(
            WATCHDOG_MAX_PERIOD_S,
            max(WATCHDOG_MIN_PERIOD_S, config.task_timeout / WATCHDOG_DIVISIONS),
        )
        self._start_thread("turnout-work-supervisor", self._supervise)

    # ------------------------------------------------------------------ Dispatcher

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        with self._lock:
            if self._inbox:
                self._drain_inbox_locked()
            old = self._parts.get(tp)
            if old is not None:
                # Opened again without a close: the old ownership's results are void.
                self._drop_queued_locked(old)
                old.closed = True
            part = Partition(
                tp, OffsetTracker(next_offset), frozenset(o for o in skip if o >= next_offset)
            )
            if self._ordering is not Ordering.KEY:
                part.main = Lane(part, None, self._ordering is Ordering.PARTITION)
            self._parts[tp] = part

    def submit(self, record: Record) -> None:
        self.submit_run((record.topic, record.partition), [record])

    def submit_run(self, tp: PartitionId, records: Sequence[Record]) -> None:
        # Lock-free unless a worker is idle: the run goes to the inbox (deque.append is
        # atomic) and the next worker looking for work routes the whole inbox in one go.
        # ``accepted`` counters are written only here, by the consume loop's one thread
        # (or the one worker fetching).
        part = self._parts.get(tp)
        if part is None or part.closing or not records:
            return
        part.accepted += len(records)
        self._accepted += len(records)
        self._inbox.append((part, records))
        if self._supervisor_resting:
            with self._lock:
                self._supervisor_resting = False
                self._timer.notify()
        if self._fetching and self._on_worker():
            return  # the fetching worker routes and runs it next itself
        # Read after the append; a worker about to wait counts itself idle before it
        # re-checks the inbox, so one of the two always sees the other (see _next_run).
        # A pending wake is cleared by the worker before it routes the inbox, so a run
        # appended after that clearing wakes again.
        if (self._idle_threads or self._async_waiters) and not self._inbox_wake_pending:
            with self._lock:
                self._inbox_wake_pending = True
                self._wake_worker_locked()

    def wants_more(self, tp: PartitionId) -> bool:
        # Lock-free: plain reads of ints and flags; a stale answer only moves a pause by
        # one poll, and the bounds are re-checked on the next call.
        if self._halted or self._closed:
            return False
        if self._breaker_until is not None and not self._breaker_closed():
            return False
        part = self._parts.get(tp)
        if part is None or part.closing:
            return False
        # Hysteresis: a partition that hit its bound is refused until it is back under half
        # of it. Every pause/resume costs the consume loop a purge and a re-fetch of the
        # partition (librdkafka drops prefetched records on pause), so pausing at every
        # record over the bound would throttle throughput far below the handler's speed.
        # (The bound over every partition is ``has_room``'s: the loop stops polling.)
        # Records still in the inbox will join the span when routed: count them now.
        in_flight = part.accepted - part.released
        span = part.tracker.span + part.accepted - part.routed
        if span >= self._max_span:
            # No hysteresis here: the span only shrinks when a stuck record finishes.
            return False
        if part.saturated:
            if in_flight > self._max_pp * RESUME_FRACTION:
                return False
            part.saturated = False
            return True
        if in_flight >= self._max_pp:
            part.saturated = True
            return False
        return True

    def has_room(self) -> bool:
        # Lock-free reads, on the consume loop's thread. No hysteresis: holding polls drops
        # nothing, so polling again as soon as there is room costs nothing either.
        in_flight = self._accepted - self._released
        if in_flight >= self._max_total:
            return False
        if in_flight < self._max_ahead:
            return True
        # Past the lookahead: hold the polls while the workers are catching up, so the
        # loop does not take the GIL from them to queue records they cannot start yet.
        # Partitions at their own bound are paused and set aside; and if the rest would
        # take longer than BEHIND_S to drain at the recent pace, the workers are not
        # catching up (a slow or stuck partition): polling goes on, and that partition's
        # own bound pauses it while the others keep flowing.
        ahead = in_flight - sum(
            part.accepted - part.released for part in self._parts.values() if part.saturated
        )
        if ahead < self._max_ahead:
            return True
        return ahead > self._pace() * BEHIND_S

    def wait_for_room(self, timeout_s: float) -> None:
        with self._lock:
            if self.has_room():
                return
            self._room_wanted = True
            self._room.wait(timeout_s)
            self._room_wanted = False

    def _room_freed_locked(self) -> None:
        """Records finished: wake a consume loop waiting for room, if there is some now."""
        if self.has_room():
            self._room_wanted = False
            self._room.notify()
            if self._fetch is not None and not self._fetching:
                self._wake_idle_locked()  # someone fetches again

    def _pace(self) -> float:
        """Records finished per second lately (an EWMA sampled every ``PACE_SAMPLE_S``)."""
        now = self._clock()
        elapsed = now - self._pace_at
        if elapsed >= PACE_SAMPLE_S:
            released = self._released
            rate = (released - self._pace_released) / elapsed
            self._pace_rate += PACE_SMOOTHING * (rate - self._pace_rate)
            self._pace_at = now
            self._pace_released = released
        return self._pace_rate

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
        with self._lock:
            if self._inbox:
                self._drain_inbox_locked()
            part = self._parts.get(tp)
            if part is None:
                return None
            part.closing = True
            self._drop_queued_locked(part)
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
                self._drained.wait(left)
            part.closed = True
            del self._parts[tp]
            part.reported_version = part.tracker.version
            return part.tracker.point(self._config.done_budget_bytes)

    def stop_reason(self) -> str | None:
        return self._stop_reason

    def close(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for tp in list(self._parts):
            self.close_partition(tp, max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closed = True
            self._work_ready.notify_all()
            self._timer.notify_all()
            self._wake_async_all_locked()
        if self._dead_letters is not None:
            self._dead_letters.close(max(0.0, deadline - time.monotonic()))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        # Threads stuck in a handler cannot be stopped; they are daemons and are left behind.
        stop_by = min(deadline, time.monotonic() + LOOP_STOP_TIMEOUT_S)
        for thread in self._threads:
            thread.join(max(0.0, stop_by - time.monotonic()))

    # ------------------------------------------------------------------ extras

    def resume(self) -> None:
        """Close the circuit breaker now (after an escalation chose PAUSE)."""
        self._breaker_until = None

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
        return self._accepted - self._released

    # ------------------------------------------------------------------ scheduling

    def take_over_fetching(self, fetch: Fetch) -> bool:
        """Fetch on the worker threads (``FetchingDispatcher``): a worker with nothing to
        do fetches, then runs what it fetched itself. Not for coroutine handlers (their
        loop must not block in a poll)."""
        if self._is_async:
            return False
        with self._lock:
            self._fetch = fetch
            self._wake_idle_locked()
        return True

    def _on_worker(self) -> bool:
        return threading.get_ident() in self._worker_idents

    def _wake_worker_locked(self) -> None:
        if self._fetch is not None and self._on_worker():
            # Fetching mode: the worker that made this work ready takes it next itself
            # (no thread switch for a fast handler), or calls for help once its own run
            # has gone on for ``HELP_AFTER_S`` (``_call_help_locked``).
            return
        self._wake_idle_locked()

    def _call_help(self) -> None:
        """A worker's run has gone on for ``HELP_AFTER_S``: wake an idle worker if work is
        waiting for one (a ready lane, the inbox) or nobody is fetching."""
        with self._lock:
            self._call_help_locked()

    def _call_help_locked(self) -> None:
        if self._idle_threads and (
            self._ready or self._inbox or (self._fetch is not None and not self._fetching)
        ):
            self._work_ready.notify()

    def _wake_idle_locked(self) -> None:
        if self._idle_threads:
            self._work_ready.notify()
        elif self._async_waiters:
            waiter = self._async_waiters.popleft()
            loop = self._loop
            assert loop is not None
            loop.call_soon_threadsafe(_resolve, waiter)

    def _wake_async_all_locked(self) -> None:
        loop = self._loop
        while self._async_waiters and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_resolve, self._async_waiters.popleft())

    def _drain_inbox_locked(self) -> None:
        """Route submitted records to their lanes (under the lock, in submission order)."""
        inbox = self._inbox
        while inbox:
            part, records = inbox.popleft()
            count = len(records)
            part.routed += count
            if part.closing:
                self._release_locked(part, count)
                continue
            tracker = part.tracker
            if _first_offset(records) < tracker.frontier or part.skip:
                # Rare: re-fetched records, or offsets a predecessor completed.
                records = self._admit_locked(part, records)
                if not records:
                    continue
            else:
                _track_added(tracker, records)
            lane = part.main
            if lane is not None:
                # The run joins its lane whole: no record is built here (see RecordRun).
                lane.records.append(records)
                self._schedule_locked(lane, len(records))
                continue
            for record in records:
                key = record.key
                lane = part.lanes.get(key)
                if lane is None:
                    lane = part.lanes[key] = Lane(part, key, True)
                lane.records.append((record,))
                self._schedule_locked(lane, 1)

    def _admit_locked(self, part: Partition, records: Sequence[Record]) -> list[Record]:
        """Register ``records`` one by one: drop those not past the frontier, complete
        those in ``skip`` at once; the rest are returned."""
        tracker = part.tracker
        skip = part.skip
        kept: list[Record] = []
        for record in records:
            offset = record.offset
            if not tracker.add(offset):
                self._release_locked(part, 1)
            elif skip and offset in skip:
                tracker.complete(offset)
                self._release_locked(part, 1)
            else:
                kept.append(record)
        return kept

    def _schedule_locked(self, lane: Lane, added: int) -> None:
        """``added`` records joined ``lane``: make it ready, or wake workers for them."""
        if not lane.scheduled and lane.retry is None:
            lane.scheduled = True
            self._ready.append(lane)
            self._wake_worker_locked()
        elif not lane.exclusive:
            # A shared lane is worked by many at once: every record may use a worker.
            for _ in range(min(added, self._config.workers)):
                self._wake_worker_locked()

    def _take_locked(self) -> Run | None:
        # This worker sees the inbox now (under the lock): a run appended from here on
        # must wake a worker again, even if this one finds the inbox empty (another
        # routed it first).
        self._inbox_wake_pending = False
        if self._inbox:
            self._drain_inbox_locked()
        if self._halted or self._closed:
            return None
        ready = self._ready
        while ready:
            lane = ready.popleft()
            part = lane.part
            if part.closing:
                lane.scheduled = False
                continue
            retry = lane.retry
            if retry is not None and retry.due > self._clock():
                # Waiting (retry backoff or gate recheck): the supervisor requeues it.
                lane.scheduled = False
                continue
            if retry is not None and retry.records:
                lane.retry = None
                run = Run(lane, retry.records, retry.attempts)
            else:
                lane.retry = None
                records = lane.records
                if not records:
                    lane.scheduled = False
                    self._forget_lane_locked(lane)
                    continue
                run = Run(lane, _take(records, self._take_size), 0)
                if not lane.exclusive:
                    if records:
                        ready.append(lane)
                        self._wake_worker_locked()
                    else:
                        lane.scheduled = False
            part.running += len(run.records)
            return run
        return None

    def _release_lane_locked(self, lane: Lane, *, wake: bool = True) -> None:
        """A run of an exclusive lane ended (or its failure was decided): requeue or idle.
        ``wake=False`` when the caller is a worker about to take work itself: handing the
        lane to another thread would cost a thread switch per run for nothing."""
        if not lane.exclusive:
            return
        if lane.part.closing or lane.retry is not None:
            lane.scheduled = False
        elif lane.records:
            self._ready.append(lane)
            if wake:
                self._wake_worker_locked()
        else:
            lane.scheduled = False
            self._forget_lane_locked(lane)

    def _forget_lane_locked(self, lane: Lane) -> None:
        # Key lanes come and go with the keys, so memory follows the keys in flight, not
        # every key ever seen.
        if lane.key is not None or lane.part.main is None:
            lanes = lane.part.lanes
            if lanes.get(lane.key) is lane and not lane.records and lane.retry is None:
                del lanes[lane.key]

    def _drop_queued_locked(self, part: Partition) -> None:
        """Forget records not started (queued or waiting to retry): the next owner fetches
        them again. Running ones are left to finish."""
        part.closing = True
        lanes = list(part.lanes.values())
        if part.main is not None:
            lanes.append(part.main)
        dropped = sum(len(segment) for lane in lanes for segment in lane.records)
        for lane in lanes:
            lane.records.clear()
        for _, _, lane, retry in self._retries:
            if lane.part is part and lane.retry is retry:
                dropped += len(retry.records)
                lane.retry = None
        self._release_locked(part, dropped)

    def _breaker_closed(self) -> bool:
        until = self._breaker_until
        if until is None:
            return True
        if self._clock() >= until:
            self._breaker_until = None
            log.info("circuit breaker closed after its cooldown; consumption resumes")
            return True
        return False

    # ------------------------------------------------------------------ finishing runs

    def _finish_run(self, run: Run, outcome: RunOutcome) -> None:
        self._finish(run, outcome.ok, outcome.error, outcome.deferred, yielded=outcome.yielded)

    def _finish(
        self,
        run: Run,
        ok: int,
        error: BaseException | None,
        deferred: bool = False,
        *,
        yielded: bool = False,
        by_worker: bool = True,
    ) -> None:
        """Account for a run: ``ok`` leading records succeeded; if ``error``, the next record
        (per-message) or the whole batch (per-batch) failed an attempt; if ``deferred``, the
        gate refused the next record and the rest of the run waits for it to open; if
        ``yielded``, the run's time slice ran out and the rest goes back to its lane.
        ``by_worker``: called by the worker of the run, which looks for work next."""
        lane = run.lane
        part = lane.part
        records = run.records
        now = self._clock()
        exhausted: Sequence[Record] = []
        attempts = run.attempts + 1
        with self._lock:
            # The supervisor may have reported the first ``reported`` records already.
            reported = run.reported
            part.running -= len(records) - reported
            if part.closing:
                self._drained.notify_all()
            if part.closed:
                self._release_locked(part, len(records) - reported)
                lane.scheduled = False
                return
            if ok > reported:
                self._report_locked(run, ok, now)
            if deferred and not part.closing and not self._halted:
                self._defer_locked(run, ok, now)
                return
            if yielded and not part.closing and not self._halted:
                lane.records.appendleft(records[ok:])
                self._release_lane_locked(lane, wake=not by_worker)
                return
            if error is None or part.closing:
                # Records of the run not started (draining or halted) are dropped, and so is
                # a failure during the drain: the next owner processes them again.
                dropped = len(records) - ok
                self._release_locked(part, dropped)
                self._release_lane_locked(lane, wake=not by_worker)
                return
            failed = records[ok:] if self._per_batch else records[ok : ok + 1]
            rest = records[ok + 1 :] if not self._per_batch else []
            if rest:
                lane.records.appendleft(rest)
                if not lane.exclusive and not lane.scheduled and lane.retry is None:
                    lane.scheduled = True
                    self._ready.append(lane)
                    self._wake_worker_locked()
            topic = part.tp[0]
            self._metrics.failed.labels(topic).inc()
            permanent = isinstance(error, PermanentFailure)
            if not permanent and attempts < self._config.max_attempts:
                self._metrics.retried.labels(topic).inc()
                due = now + self._backoff.delay(attempts)
                target = lane if lane.exclusive else Lane(part, None, True, scheduled=True)
                retry = Retry(failed, attempts, due)
                target.retry = retry
                self._retry_seq += 1
                heapq.heappush(self._retries, (due, self._retry_seq, target, retry))
                if self._retries[0][3] is retry:
                    self._timer.notify()
                self._release_lane_locked(lane)
                return
            exhausted = failed
            # An exclusive lane stays scheduled (blocked) until the decision is applied.
            if not lane.exclusive:
                self._release_lane_locked(lane)
        log.warning(
            "%s/%d@%d: %s after %d attempt(s): %r",
            part.tp[0], part.tp[1], exhausted[0].offset,
            "permanent failure" if permanent else "attempts used up", attempts, error,
        )  # fmt: skip
        self._decide(lane, exhausted, error, attempts, permanent)

    def _report_locked(self, run: Run, upto: int, now: float) -> None:
        """Complete ``run.records[run.reported:upto]`` (all succeeded)."""
        part = run.lane.part
        count = upto - run.reported
        _track_completed(part.tracker, run.records[run.reported : upto])
        run.reported = upto
        self._release_locked(part, count)
        part.processed += count
        self._dl_guard.successes(count, now)

    def _report_progress_locked(self, now: float) -> None:
        """Complete the records a worker finished earlier in a run it is still in (stuck on
        a slow record, or in a long run), so they need not wait for the run's end to count,
        be committed and free their in-flight slots."""
        if self._per_batch:
            return
        for worker in self._workers:
            position = worker.position()
            if position is None:
                continue
            # Every record before the one started last has succeeded.
            run, started_last = position
            part = run.lane.part
            if started_last > run.reported and not part.closed:
                part.running -= started_last - run.reported
                self._report_locked(run, started_last, now)
                if part.closing:
                    self._drained.notify_all()

    def _defer_locked(self, run: Run, ok: int, now: float) -> None:
        """Put the unstarted rest of a run back and look at the lane again after
        ``GATE_RECHECK_S``; a retry keeps its attempt count."""
        lane = run.lane
        due = now + GATE_RECHECK_S
        if run.attempts and not ok:
            retry = Retry(run.records, run.attempts, due)
        else:
            if ok < len(run.records):
                lane.records.appendleft(run.records[ok:])
            retry = Retry([], 0, due)
        lane.retry = retry
        lane.scheduled = False
        self._retry_seq += 1
        heapq.heappush(self._retries, (due, self._retry_seq, lane, retry))
        if self._retries[0][3] is retry:
            self._timer.notify()

    def _decide(
        self,
        lane: Lane,
        failed: Sequence[Record],
        error: BaseException,
        attempts: int,
        permanent: bool,
    ) -> None:
        part = lane.part
        decisions: list[tuple[Record, FailedDecision]] = []
        escalations: list[Escalation] = []
        for record in failed:
            failure = Failure(record, error, attempts, permanent)
            decisions.append((record, self._call_on_failure(failure)))
            with self._lock:
                count = self._failures.record(self._clock())
            if count is not None:
                escalations.append(Escalation(count, self._config.retry_window, failure))
        for escalation in escalations:
            self._escalate(escalation)
        to_send: list[Record] = []
        with self._lock:
            live = not part.closing
            topic = part.tp[0]
            for record, decision in decisions:
                self._metrics.exhausted.labels(topic, decision.name).inc()
                if not live:
                    continue
                where = f"{topic}/{record.partition}@{record.offset}"
                if decision.commits and self._dead_letters is not None:
                    trip = self._dl_guard.dead_letter(self._clock())
                    if trip is not None:
                        self._hold_locked(part, record)
                        self._halt_locked(f"{trip.reason} (at {where})")
                        continue
                    part.running += 1
                    to_send.append(record)
                elif decision.commits:
                    part.tracker.complete(record.offset)
                    self._finished_locked(part)
                else:
                    self._hold_locked(part, record)
                if decision.stops:
                    self._halt_locked(f"failure decision {decision.name} at {where}: {error!r}")
            if not live:
                self._release_locked(part, len(failed))
            if lane.exclusive:
                self._release_lane_locked(lane)
        for record in to_send:
            assert self._dead_letters is not None
            self._dead_letters.send(
                record,
                error,
                attempts,
                functools.partial(self._dead_lettered, part, record),
            )

    def _dead_lettered(self, part: Partition, record: Record, error: BaseException | None) -> None:
        with self._lock:
            part.running -= 1
            if part.closing:
                self._drained.notify_all()
            if part.closed:
                self._release_locked(part, 1)
                return
            if error is None:
                self._metrics.dead_lettered.labels(part.tp[0]).inc()
                part.tracker.complete(record.offset)
                self._finished_locked(part)
            else:
                self._metrics.dead_letter_errors.labels(part.tp[0]).inc()
                self._hold_locked(part, record)
                self._halt_locked(
                    f"dead letter of {part.tp[0]}/{part.tp[1]}@{record.offset} failed: {error}"
                )

    def _hold_locked(self, part: Partition, record: Record) -> None:
        part.tracker.hold(record.offset)
        self._finished_locked(part)

    def _finished_locked(self, part: Partition) -> None:
        self._release_locked(part, 1)

    def _release_locked(self, part: Partition, count: int) -> None:
        """``count`` records of ``part`` are no longer in flight (finished or dropped)."""
        part.released += count
        self._released += count
        if self._room_wanted:
            self._room_freed_locked()

    def _halt_locked(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
            log.error("work manager stops: %s", reason)
        self._halted = True
        for worker in self._workers:
            worker.interrupt()

    def _call_on_failure(self, failure: Failure) -> FailedDecision:
        try:
            return self._on_failure(failure)
        except Exception:
            # A broken callback must not lose the record: hold it and stop.
            log.exception("the failure callback raised; the record is held and the agent stops")
            return FailedDecision.DO_NOT_COMMIT_AND_STOP

    def _escalate(self, escalation: Escalation) -> None:
        try:
            action = self._on_escalation(escalation)
        except Exception:
            log.exception("the escalation callback raised; stopping")
            action = EscalationAction.STOP
        self._metrics.escalations.labels(action.value).inc()
        log.error(
            "%d records exhausted their attempts within %.0f s: %s",
            escalation.failures, escalation.window_s, action.value,
        )  # fmt: skip
        if action is EscalationAction.PAUSE:
            self._breaker_until = self._clock() + self._config.breaker_cooldown
        elif action is EscalationAction.STOP:
            with self._lock:
                self._halt_locked(
                    f"{escalation.failures} records exhausted their attempts within "
                    f"{escalation.window_s:.0f} s"
                )

    # ------------------------------------------------------------------ supervisor

    def _supervise(self) -> None:
        """Make due retries ready, report progress inside long runs, and, while workers
        are busy, look every ``GATE_TRUST_S`` for attempts past ``task_timeout`` (the
        watchdog) and for runs whose partition's gate shut (interrupted)."""
        timeout = self._config.task_timeout
        gate = self._gate
        while True:
            with self._lock:
                if self._closed:
                    return
                now = self._clock()
                retries = self._retries
                while retries and retries[0][0] <= now:
                    _, _, lane, retry = heapq.heappop(retries)
                    if lane.retry is retry and not lane.part.closing:
                        lane.scheduled = True
                        self._ready.append(lane)
                        self._wake_worker_locked()
                self._report_progress_locked(now)
                busy = [worker for worker in self._workers if worker.run is not None]
                if self._fetch is not None and any(
                    now - worker.run_started >= HELP_AFTER_S for worker in busy
                ):
                    self._call_help_locked()  # a handler that went quiet mid-chunk
            timed_out: list[tuple[Run, int]] = []
            for worker in busy:
                late = worker.overdue(now, timeout)
                if late is not None and worker.claim(*late):
                    timed_out.append(late)
                run = worker.run
                if gate is not None and run is not None and not gate(run.lane.part.tp):
                    worker.interrupt()
            for run, pos in timed_out:
                log.warning(
                    "%s/%d@%d: attempt timed out after %.1f s; the thread is left to finish",
                    run.lane.part.tp[0], run.lane.part.tp[1], run.records[pos].offset,
                    timeout,
                )  # fmt: skip
                self._finish(
                    run, pos, AttemptTimedOut(f"no result within {timeout} s"), by_worker=False
                )
            if not self._rest():
                return

    def _rest(self) -> bool:
        """Wait for the supervisor's next beat; False once the manager is closed. The beat
        is ``GATE_TRUST_S`` while records are in flight, or were within ``BUSY_LINGER_S``
        (a run may start any moment); after that, only retries and the watchdog's own
        period wake it, and the first record submitted does (``submit_run``). The linger
        keeps a stream of runs that each finish before the next poll from waking the
        supervisor at every poll."""
        with self._lock:
            if self._closed:
                return False
            wait = self._watch_period
            now = self._clock()
            if self._accepted > self._released:
                self._busy_at = now
            busy = now - self._busy_at < BUSY_LINGER_S
            if busy:
                wait = min(wait, GATE_TRUST_S)
            if self._retries:
                wait = min(wait, max(0.0, self._retries[0][0] - now))
            # Resting: the next submit wakes the supervisor (the busy beat).
            self._supervisor_resting = not busy
            self._timer.wait(wait)
            self._supervisor_resting = False
            return True

    # ------------------------------------------------------------------ thread workers

    def _start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _next_run_blocking(self, worker: ThreadWorker) -> Run | None:
        """The next run for a worker; in fetching mode, a worker with nothing to do and
        room for more fetches (one at a time), then takes from what came."""
        with self._lock:
            while True:
                run = self._take_locked()
                if run is not None:
                    worker.run = run  # under the lock: close_partition sees it
                    return run
                if self._closed:
                    return None
                fetch = self._fetch
                if fetch is not None and not self._fetching and self.has_room():
                    self._fetching = True
                    self._lock.release()
                    try:
                        fetch()
                    except Exception:
                        # The agent's fetch reports its own errors; a bug must not kill
                        # the worker (nor leave the fetching to nobody).
                        log.exception("fetch failed")
                    finally:
                        self._lock.acquire()
                        self._fetching = False
                    continue
                self._idle_threads += 1
                if not self._inbox:
                    self._work_ready.wait()
                self._idle_threads -= 1

    def _thread_main(self, worker: ThreadWorker) -> None:
        handler = self._handler
        with self._lock:
            self._worker_idents.add(threading.get_ident())
        while True:
            run = self._next_run_blocking(worker)
            if run is None:
                return
            outcome = worker.handle(
                run,
                handler,
                per_batch=self._per_batch,
                gate=self._gate,
                clock=self._clock,
                halted=self._is_halted,
                call_help=self._call_help if self._fetch is not None else None,
            )
            if outcome is None:
                # The watchdog timed the attempt out and reported the run already.
                self._metrics.late_results.inc()
                continue
            self._finish_run(run, outcome)

    def _is_halted(self) -> bool:
        return self._halted

    # ------------------------------------------------------------------ coroutine workers

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            for _ in range(self._config.workers):
                buckets = LatencyBuckets()
                self._latency.append(buckets)
                self._async_tasks.append(loop.create_task(self._async_worker(buckets)))
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                for task in self._async_tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*self._async_tasks, return_exceptions=True))
                loop.close()

        self._start_thread("turnout-work-loop", main)
        started.wait()

    async def _async_worker(self, latency: LatencyBuckets) -> None:
        loop = asyncio.get_running_loop()
        handler = self._handler
        timeout = self._config.task_timeout
        clock = self._clock
        while True:
            with self._lock:
                if self._closed:
                    return
                run = self._take_locked()
                waiter: asyncio.Future[None] | None = None
                if run is None:
                    waiter = loop.create_future()
                    self._async_waiters.append(waiter)
                    # Registered before this re-check: submit sees the waiter or we see
                    # its record (as with idle threads).
                    if self._inbox:
                        self._async_waiters.remove(waiter)
                        waiter = None
            if run is None:
                if waiter is not None:
                    await waiter
                continue
            error: BaseException | None = None
            ok = 0
            units: list[Any] = [run.records] if self._per_batch else list(run.records)
            part = run.lane.part
            deferred = False
            for unit in units:
                if part.closing or self._halted:
                    break
                if self._gate is not None and not self._gate(part.tp):
                    deferred = True
                    break
                started = clock()
                try:
                    await asyncio.wait_for(cast(Awaitable[object], handler(unit)), timeout)
                except TimeoutError:
                    error = AttemptTimedOut(f"no result within {timeout} s")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = exc
                latency.observe(clock() - started)
                if error is not None:
                    break
                ok += len(run.records) if self._per_batch else 1
            self._finish(run, ok, error, deferred)

    # ------------------------------------------------------------------ metrics

    def processed_total(self) -> int:
        """Records completed by the handler on the partitions open now."""
        with self._lock:
            return sum(part.processed for part in self._parts.values())

    def _snapshot(self) -> Snapshot:
        with self._lock:
            processed: dict[str, int] = {}
            in_flight: dict[PartitionId, int] = {}
            lag: dict[PartitionId, int] = {}
            for tp, part in self._parts.items():
                processed[tp[0]] = processed.get(tp[0], 0) + part.processed
                in_flight[tp] = part.accepted - part.released
                if part.lag is not None:
                    lag[tp] = part.lag
                elif part.high_watermark is not None:
                    point = part.tracker.point(0).next_offset
                    lag[tp] = max(0, part.high_watermark - point)
            abandoned = sum(1 for w in self._workers if w.abandoned)
        paused = self._breaker_until is not None and not self._breaker_closed()
        return Snapshot(processed, in_flight, lag, abandoned, paused)


def _first_offset(records: Sequence[Record]) -> int:
    if type(records) is RecordRun:
        return records.first_offset
    return records[0].offset


def _track_added(tracker: OffsetTracker, records: Sequence[Record]) -> None:
    """Register fetched ``records`` (ascending, past the frontier): one range for a run of
    consecutive offsets, whatever its length."""
    first = records.consecutive_from if type(records) is RecordRun else None
    if first is not None:
        tracker.add_range(first, len(records))
    else:
        tracker.add_run(offsets_of(records))


def _track_completed(tracker: OffsetTracker, records: Sequence[Record]) -> None:
    first = records.consecutive_from if type(records) is RecordRun else None
    if first is not None:
        tracker.complete_range(first, len(records))
    else:
        tracker.complete_all(offsets_of(records))


def _take(segments: deque[Sequence[Record]], size: int) -> Sequence[Record]:
    """Take up to ``size`` records off the front of a lane's (non-empty) ``segments``:
    a piece of the first segment, or it joined to the next ones. Costs per segment, not
    per record, and builds no record of a ``RecordRun``."""
    first = segments.popleft()
    if len(first) >= size:
        if len(first) > size:
            segments.appendleft(first[size:])
            return first[:size]
        return first
    pieces = [first]
    room = size - len(first)
    while segments and room:
        segment = segments.popleft()
        if len(segment) > room:
            segments.appendleft(segment[room:])
            segment = segment[:room]
        pieces.append(segment)
        room -= len(segment)
    if len(pieces) == 1:
        return first
    if all(type(piece) is RecordRun for piece in pieces):
        return RecordRun.join(cast(list[RecordRun], pieces))
    return [record for piece in pieces for record in piece]


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _default_on_failure(has_dead_letters: bool) -> FailureCallback:
    """With a dead-letter sink: dead-letter and continue. Without one: hold the record and
    stop, so nothing is ever committed that was neither processed nor kept somewhere."""
    decision = (
        FailedDecision.COMMIT_AND_CONTINUE
        if has_dead_letters
        else FailedDecision.DO_NOT_COMMIT_AND_STOP
    )
    return lambda _failure: decision


def _pause_on_escalation(_escalation: Escalation) -> EscalationAction:
    return EscalationAction.PAUSE
