"""The scheduler: submitted runs to lanes, lanes to workers, idle workers woken.

Why this module is long: routing, taking and waking share the lane and idle-worker
state, and splitting the wake-up half out would cost a call per run on the hot path.

Records arrive as runs of one partition (``submit``, lock-free: a deque append) in the
*inbox*. The next worker that looks for work routes the whole inbox under the lock: it
registers the offsets with the partition's completion tracker (one range per run of
consecutive offsets) and queues each run on its lane, whole (``partition``/``unordered``
mode) or split by key (``key`` mode). A lane with records is put in the *ready* queue;
a worker takes a run of up to ``take_size`` records from the first ready lane.

Lane states (exclusive lanes):

    idle --records routed--> ready (in the ready queue) --a worker takes a run--> taken
    taken --run settled, records left--> ready
    taken --run settled, nothing left--> idle (a key lane is then forgotten)
    taken --attempt failed, retries left--> waiting (``retry`` set, in the retry heap)
    taken --gate refused--> waiting (an empty ``retry``, due after GATE_RECHECK_S)
    waiting (``park``) --due (the supervisor's ``requeue_due``)--> ready
    taken --attempts used up--> deciding (the failure policy) --> ready / idle
    any --its partition closes--> dropped (records and retry forgotten)

``scheduled`` is True in ready, taken and deciding; routing enqueues only an idle lane. A
shared lane (``unordered``) stays ready while it has records, so many workers take from
it at once; a record of it that fails moves to a one-record exclusive lane of its own (a
retry), blocking nothing.

Waking: a worker that is idle waits on ``work_ready`` (threads) or on a future of its own
(coroutine tasks, ``wait_as_task``). ``submit`` wakes one for the inbox unless one was
already woken and has not looked yet (``inbox_wake_pending``): routing wakes a worker per
lane it makes ready. An idle worker counts itself idle before it re-checks the inbox, and
``submit`` reads the idle count after its append, so one of the two always sees the other.

Fetching mode (``take_over_fetching``, thread workers inside the agent): a worker with
nothing to do and room for more fetches (one at a time) through the agent's data path,
which submits what came; that worker then routes and runs it itself. Work a worker makes
ready is left to it (no thread switch for a fast handler) until its run has gone on for
``HELP_AFTER_S``, when it calls for help (``call_help``) and an idle worker is woken.

Failures: a fetch that raises is logged and the worker goes on (the agent's fetch
reports its own errors; a bug must not leave the fetching to nobody). Nothing else here
calls user code.

Locking: every method is called with the shared lock held, except ``submit`` (lock-free;
takes the lock only to wake a worker), ``on_worker`` (lock-free) and
``take_over_fetching`` (takes it); ``wait_for_run`` releases it while it waits or fetches.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from turnout.agent.dispatch import Fetch
from turnout.agent.records import Record, RecordRun
from turnout.agent.work.completion import CompletionTracker
from turnout.agent.work.config import WorkConfig
from turnout.agent.work.flow import FlowControl, payload_bytes
from turnout.agent.work.lanes import Lane, PartitionWork, Retry, Run, take_records
from turnout.agent.work.lifecycle import Lifecycle
from turnout.protocol.partitions import PartitionId
from turnout.protocol.processing import Ordering

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        config: WorkConfig,
        *,
        per_batch: bool,
        lock: threading.Lock,
        flow: FlowControl,
        lifecycle: Lifecycle,
        clock: Callable[[], float],
    ) -> None:
        self._ordering = config.ordering
        self._workers = config.workers
        # In unordered mode a record taken into a run would wait behind the slow ones before
        # it in that run; one record per run keeps "a slow record blocks nothing" true.
        if per_batch:
            self._take_size = config.batch_size
        elif config.ordering is Ordering.UNORDERED:
            self._take_size = 1
        else:
            self._take_size = config.run_size
        self._lock = lock
        self._flow = flow
        self._lifecycle = lifecycle
        self._clock = clock
        #: Idle worker threads wait here.
        self.work_ready = threading.Condition(lock)
        #: The supervisor waits here: notified when a retry becomes the earliest, when work
        #: arrives while it rests, and at close.
        self.timer = threading.Condition(lock)
        self.ready: deque[Lane] = deque()
        #: (due, sequence, lane, retry), a heap by due time; an entry whose lane no longer
        #: points at its retry is stale and skipped.
        self.retries: list[tuple[float, int, Lane, Retry]] = []
        self._retry_seq = 0
        #: (partition, records in offset order) submitted and not yet routed to a lane.
        self.inbox: deque[tuple[PartitionWork, Sequence[Record]]] = deque()
        #: A worker was woken for the inbox and has not looked at it yet.
        self.inbox_wake_pending = False
        self.idle_threads = 0
        self.idle_tasks: deque[asyncio.Future[None]] = deque()
        #: The agent's fetch, once the workers took the fetching over.
        self.fetch: Fetch | None = None
        #: A worker is inside ``fetch`` (one at a time).
        self.fetching = False
        #: The worker threads' idents: in fetching mode, work a worker makes ready is left
        #: for that worker.
        self._worker_idents: set[int] = set()

    # ---- partitions ---------------------------------------------------------------------

    def new_partition(
        self, tp: PartitionId, next_offset: int, skip: frozenset[int]
    ) -> PartitionWork:
        part = PartitionWork(
            tp, CompletionTracker(next_offset), frozenset(o for o in skip if o >= next_offset)
        )
        if self._ordering is not Ordering.KEY:
            part.main = Lane(part, None, self._ordering is Ordering.PARTITION)
        return part

    def drop_queued(self, part: PartitionWork) -> None:
        """Forget ``part``'s records not started (queued or waiting to retry): the next
        owner fetches them again. Running ones are left to finish."""
        part.closing = True
        lanes = list(part.lanes.values())
        if part.main is not None:
            lanes.append(part.main)
        dropped = sum(len(segment) for lane in lanes for segment in lane.records)
        for lane in lanes:
            lane.records.clear()
        for _, _, lane, retry in self.retries:
            if lane.part is part and lane.retry is retry:
                dropped += len(retry.records)
                lane.retry = None
        self._flow.retire(part, dropped)

    # ---- records in ----------------------------------------------------------------------

    def submit(self, part: PartitionWork, records: Sequence[Record]) -> None:
        """Accept a run of an open partition into the inbox and wake a worker for it if
        one is idle. Lock-free: called by the consume loop's one thread (or the one
        worker fetching), which alone writes the ``accepted`` counts."""
        count = len(records)
        part.accepted += count
        flow = self._flow
        flow.accepted += count
        flow.note_sizes(count, payload_bytes(records))
        self.inbox.append((part, records))
        if self.fetching and self.on_worker():
            return  # the fetching worker routes and runs it next itself
        # A pending wake is cleared by the worker before it routes the inbox, so a run
        # appended after that clearing wakes again.
        if (self.idle_threads or self.idle_tasks) and not self.inbox_wake_pending:
            with self._lock:
                self.inbox_wake_pending = True
                self.wake_worker()

    def route_inbox(self) -> None:
        """Route submitted records to their lanes, in submission order."""
        inbox = self.inbox
        while inbox:
            part, records = inbox.popleft()
            count = len(records)
            part.routed += count
            if part.closing:
                self._flow.retire(part, count)
                continue
            tracker = part.tracker
            if _first_offset(records) < tracker.frontier or part.skip:
                # Rare: re-fetched records, or offsets a predecessor completed.
                records = self._admit(part, records)
                if not records:
                    continue
            else:
                tracker.add_records(records)
            lane = part.main
            if lane is not None:
                # The run joins its lane whole: no record is built here (see RecordRun).
                lane.records.append(records)
                self._records_added(lane, len(records))
                continue
            for record in records:
                key = record.key
                lane = part.lanes.get(key)
                if lane is None:
                    lane = part.lanes[key] = Lane(part, key, True)
                lane.records.append((record,))
                self._records_added(lane, 1)

    def _admit(self, part: PartitionWork, records: Sequence[Record]) -> list[Record]:
        """Register ``records`` one by one: retire those not past the frontier, complete
        those in ``skip`` at once; the rest are returned."""
        tracker = part.tracker
        skip = part.skip
        kept: list[Record] = []
        for record in records:
            offset = record.offset
            if not tracker.add(offset):
                self._flow.retire(part, 1)
            elif skip and offset in skip:
                tracker.complete(offset)
                self._flow.retire(part, 1)
            else:
                kept.append(record)
        return kept

    def _records_added(self, lane: Lane, added: int) -> None:
        """``added`` records joined ``lane``: make it ready, or wake workers for them."""
        if not lane.scheduled and lane.retry is None:
            # ``make_ready``, inline: in key mode this runs once per record.
            lane.scheduled = True
            self.ready.append(lane)
            self.wake_worker()
        elif not lane.exclusive:
            # A shared lane is worked by many at once: every record may use a worker.
            for _ in range(min(added, self._workers)):
                self.wake_worker()

    def make_ready(self, lane: Lane) -> None:
        """Put an idle lane in the ready queue and wake a worker for it."""
        lane.scheduled = True
        self.ready.append(lane)
        self.wake_worker()

    # ---- runs out ------------------------------------------------------------------------

    def take(self) -> Run | None:
        """The next run for a worker, or None if no lane is ready (or nothing may start)."""
        # This worker sees the inbox now: a run appended from here on must wake a worker
        # again, even if this one finds the inbox empty (another routed it first).
        self.inbox_wake_pending = False
        if self.inbox:
            self.route_inbox()
        lifecycle = self._lifecycle
        if lifecycle.halted or lifecycle.closed:
            return None
        ready = self.ready
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
                    self._forget(lane)
                    continue
                run = Run(lane, take_records(records, self._take_size), 0)
                if not lane.exclusive:
                    if records:
                        ready.append(lane)
                        self.wake_worker()
                    else:
                        lane.scheduled = False
            part.running += len(run.records)
            return run
        return None

    def end_turn(self, lane: Lane, *, wake: bool = True) -> None:
        """A run of an exclusive lane was settled (or its failure decided): requeue the
        lane or let it go idle. ``wake=False`` when the caller is a worker about to take
        work itself: handing the lane to another thread would cost a thread switch per
        run for nothing."""
        if not lane.exclusive:
            return
        if lane.part.closing or lane.retry is not None:
            lane.scheduled = False
        elif lane.records:
            self.ready.append(lane)
            if wake:
                self.wake_worker()
        else:
            lane.scheduled = False
            self._forget(lane)

    def _forget(self, lane: Lane) -> None:
        # Key lanes come and go with the keys, so memory follows the keys in flight, not
        # every key ever seen.
        if lane.key is not None or lane.part.main is None:
            lanes = lane.part.lanes
            if lanes.get(lane.key) is lane and not lane.records and lane.retry is None:
                del lanes[lane.key]

    # ---- waiting lanes -------------------------------------------------------------------

    def park(self, lane: Lane, retry: Retry) -> None:
        """Make ``lane`` wait until ``retry.due`` (a retry's backoff or a gate recheck)."""
        lane.retry = retry
        self._retry_seq += 1
        heapq.heappush(self.retries, (retry.due, self._retry_seq, lane, retry))
        if self.retries[0][3] is retry:
            self.timer.notify()

    def requeue_due(self, now: float) -> None:
        """Make the lanes whose wait is over ready again."""
        retries = self.retries
        while retries and retries[0][0] <= now:
            _, _, lane, retry = heapq.heappop(retries)
            if lane.retry is retry and not lane.part.closing:
                self.make_ready(lane)

    def next_due(self) -> float | None:
        return self.retries[0][0] if self.retries else None

    # ---- workers -------------------------------------------------------------------------

    def enlist_thread(self) -> None:
        """Count the calling thread as a worker (for fetching mode's hand-offs)."""
        self._worker_idents.add(threading.get_ident())

    def on_worker(self) -> bool:
        return threading.get_ident() in self._worker_idents

    def wait_for_run(self) -> Run | None:
        """The next run for a worker thread; None once the manager is closed. In fetching
        mode a worker with nothing to do and room for more fetches (one at a time), then
        takes from what came. Waits with the lock released."""
        while True:
            run = self.take()
            if run is not None:
                return run
            if self._lifecycle.closed:
                return None
            fetch = self.fetch
            if fetch is not None and not self.fetching and self._flow.has_room():
                self.fetching = True
                self._lock.release()
                try:
                    fetch()
                except Exception:
                    log.exception("fetch failed")
                finally:
                    self._lock.acquire()
                    self.fetching = False
                continue
            self.idle_threads += 1
            if not self.inbox:
                self.work_ready.wait()
            self.idle_threads -= 1

    def wait_as_task(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None] | None:
        """Register an idle coroutine worker: a future that resolves when work may be
        ready; None if the inbox has work already."""
        waiter: asyncio.Future[None] = loop.create_future()
        self.idle_tasks.append(waiter)
        # Registered before this re-check: submit sees the waiter or we see its run.
        if self.inbox:
            self.idle_tasks.remove(waiter)
            return None
        return waiter

    def take_over_fetching(self, fetch: Fetch) -> None:
        with self._lock:
            self.fetch = fetch
            self.wake_idle()

    def wake_worker(self) -> None:
        if self.fetch is not None and self.on_worker():
            # Fetching mode: the worker that made this work ready takes it next itself,
            # or calls for help once its own run has gone on for ``HELP_AFTER_S``.
            return
        self.wake_idle()

    def wake_idle(self) -> None:
        if self.idle_threads:
            self.work_ready.notify()
        elif self.idle_tasks:
            waiter = self.idle_tasks.popleft()
            waiter.get_loop().call_soon_threadsafe(_resolve, waiter)

    def call_help(self) -> None:
        """A worker's run has gone on for ``HELP_AFTER_S``: wake an idle worker if work is
        waiting for one (a ready lane, the inbox) or nobody is fetching."""
        if self.idle_threads and (
            self.ready or self.inbox or (self.fetch is not None and not self.fetching)
        ):
            self.work_ready.notify()

    def room_freed(self) -> None:
        """Records retired and there is room: someone fetches again (fetching mode)."""
        if self.fetch is not None and not self.fetching:
            self.wake_idle()

    def wake_all(self) -> None:
        """The manager closed: every idle worker and the supervisor look again."""
        self.work_ready.notify_all()
        self.timer.notify_all()
        idle_tasks = self.idle_tasks
        while idle_tasks:
            loop = idle_tasks[0].get_loop()
            if loop.is_closed():
                break
            loop.call_soon_threadsafe(_resolve, idle_tasks.popleft())


def _first_offset(records: Sequence[Record]) -> int:
    if type(records) is RecordRun:
        return records.first_offset
    return records[0].offset


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
