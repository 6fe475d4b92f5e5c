"""Worker threads: each takes a run from the scheduler, calls the handler on its records,
and settles the run (``worker_contract.py``). This is the work manager's per-record path.

What a worker may spend per record decides the agent's throughput (see
docs/performance.md): a no-op handler call costs a small fraction of what the consume
loop spends on a record, so anything else done per record shows. So everything a record
needs besides the call is done per *chunk* of records:

- **Records.** A per-message handler gets records from a ``RecordCursor``: one record
  moved from message to message while the handler keeps none (no object per record).
- **Clock, gate, latency.** The clock is read once per chunk. A chunk starts as one record
  and doubles while chunks stay fast (``CHUNK_GROW_S``), up to ``MAX_CHUNK``; one slow
  chunk drops it back to one record, so a slow handler is timed record by record. The
  agent's ownership gate is asked before a run's first record and then at a chunk's start
  once ``GATE_TRUST_S`` has passed since its last yes.
- **Interrupts.** Between records the worker reads one flag, ``interrupted``. Whoever
  needs it to stop before its next record sets it: ``close_partition`` (the agent giving
  the partition up), a halt, the supervisor when the gate shut for the run's partition,
  the watchdog when it takes over a late attempt. The worker then settles the interrupt
  under its ``lock`` and either goes on (re-asking the gate) or stops.
- **Position.** The supervisor reads where the worker is from the chunk's list iterator
  (``ThreadWorker.position``): how many records the iterator has handed out tells which
  record started last. Nothing is written per record for it.

A worker's states, per run:

    idle --scheduler hands it a run (``run`` set under the shared lock)--> running
    running --run ends (any ending)--> idle, the worker settles the run
    running --the watchdog claims the attempt--> abandoned: the handler call goes on;
        when it returns the worker discards its result (``late_results``) and is idle

Watchdog hand-over (a thread cannot be killed; see docs/work-management.md): the
supervisor sees the same record started last on samples ``task_timeout`` apart and calls
``claim``, which under ``lock`` first sets ``interrupted``, then checks that that record
is still the one started last. If so, the attempt is the watchdog's: the worker, the next
time it looks (before starting any other record, or when its run ends, under ``lock``),
finds ``claimed`` and leaves the run to the watchdog, its own late result discarded. If
not, the worker moved on and nothing is claimed. Either way no record is ever started
twice by the two, and exactly one of them settles the run. An abandoned worker keeps its
slot, so at most ``workers`` handler calls ever run at once, hung ones included.

Latency: a chunk's records are observed together. A chunk that ended within the first
bucket (0.5 ms) puts all its records there, which is exact; a one-record chunk is exact.
A longer chunk can only end past the first bucket if a record in it slowed down sharply
(chunks grow only while ten times faster than that): its time is counted as one record of
that length and the rest in the first bucket. The sum is always exact.
"""

from __future__ import annotations

import functools
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from operator import length_hint
from sys import getrefcount
from typing import Any

from prometheus_client import Counter

from turnout.agent.records import RecordCursor, RecordRun
from turnout.agent.work.lanes import Run
from turnout.agent.work.metrics import LATENCY_BUCKETS, LatencyBuckets
from turnout.agent.work.worker_contract import Ending, RunOutcome, WorkerContext
from turnout.protocol.partitions import PartitionId

#: Records a worker handles between two looks at the clock (and the gate), at most: enough
#: that the per-chunk work is a small share of even no-op records' calls.
MAX_CHUNK = 128
#: A chunk that ended within this may be followed by one twice as long: a tenth of the
#: first latency bucket, so a chunk of fast records stays far inside that bucket.
CHUNK_GROW_S = LATENCY_BUCKETS[0] / 10
#: A run gives its lane back to the ready queue once it has run this long, so that with
#: more busy lanes than workers each lane gets a turn at least this often (fast handlers
#: still take long runs, which is what amortises the manager's per-run work).
RUN_SLICE_S = 0.02
#: In fetching mode (the workers fetch, and each runs what it fetched) a worker whose run
#: has gone on this long wakes an idle one, to fetch or to take a waiting lane: a fast
#: handler's runs end sooner and keep everything on one thread; a slow one's get company.
HELP_AFTER_S = 0.002
#: The gate is asked again at a chunk's start once this long has passed since it last said
#: yes, and the supervisor asks it for every busy worker's partition on the same beat
#: (interrupting a run whose gate shut). A record may thus start at most about this long
#: (plus the supervisor's own scheduling) after its partition was fenced or paused, far
#: inside the fence margin (``AgentConfig.fence_margin_s``, 1.5 s by default).
#: ``close_partition`` does not wait for it: it interrupts the run before its next record.
GATE_TRUST_S = 0.01

#: The endings as module names: one global read per run, not a global and an attribute.
_COMPLETED = Ending.COMPLETED
_STOPPED = Ending.STOPPED
_FAILED = Ending.FAILED
_DEFERRED = Ending.DEFERRED
_YIELDED = Ending.YIELDED

Gate = Callable[[PartitionId], bool]
#: (run, the chunk's iterator, index in the run of the chunk's first record, chunk size)
Chunk = tuple[Run, Iterator[Any], int, int]


def _started_last(chunk: Chunk) -> int:
    """Index in the run of the record the chunk's iterator handed out last (the chunk's
    first index minus one if none yet). A list iterator's length hint is exact."""
    _, iterator, first, size = chunk
    return first + size - length_hint(iterator) - 1


class ThreadWorker:
    """One worker thread's state, shared with the supervisor (see the module docstring)."""

    __slots__ = (
        "abandoned", "chunk", "chunk_size", "claimed", "interrupted", "latency", "lock", "run",
        "run_started", "seen",
    )  # fmt: skip

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: The run being handled: set under the shared lock when the scheduler hands the
        #: run over (so ``close_partition`` sees it at once), cleared here; read by
        #: ``close_partition`` and the supervisor.
        self.run: Run | None = None
        #: When the worker began the run (``clock()``).
        self.run_started = 0.0
        #: The chunk being handled, for ``position``.
        self.chunk: Chunk | None = None
        #: Stop before the next record and settle under ``lock`` (see the module docstring).
        self.interrupted = False
        #: Index of the attempt the watchdog took over, once it did.
        self.claimed: int | None = None
        #: Stuck in a handler whose attempt the watchdog took over (a gauge).
        self.abandoned = False
        #: The watchdog's last sample: (run, index started last, when first seen).
        self.seen: tuple[Run, int, float] | None = None
        self.latency = LatencyBuckets()
        #: Records in the next chunk: kept from run to run (the handler's pace carries over).
        self.chunk_size = 1

    # ---- the supervisor's side ----------------------------------------------------------

    def interrupt(self) -> None:
        """Make the worker stop before its next record and look at its run again."""
        self.interrupted = True

    def position(self) -> tuple[Run, int] | None:
        """The run in progress and the index of the record started last (every record
        before it has succeeded); None between runs."""
        chunk = self.chunk
        if chunk is None:
            return None
        return chunk[0], _started_last(chunk)

    def overdue(self, now: float, timeout: float) -> tuple[Run, int] | None:
        """The attempt started last if the samples have seen it running for longer than
        ``timeout`` (a sample every watchdog beat: at most a beat late)."""
        position = self.position()
        if position is None or position[1] < 0 or self.claimed is not None:
            self.seen = None
            return None
        run, index = position
        seen = self.seen
        if seen is None or seen[0] is not run or seen[1] != index:
            self.seen = (run, index, now)
            return None
        return position if now - seen[2] > timeout else None

    def claim(self, run: Run, index: int) -> bool:
        """Take over the attempt at ``index`` of ``run`` if it is still the one started
        last; True if the watchdog now owns its outcome."""
        with self.lock:
            self.interrupted = True  # before looking: a worker that moves on sees it
            chunk = self.chunk
            if chunk is None or chunk[0] is not run or _started_last(chunk) != index:
                return False
            self.claimed = index
            self.abandoned = True
            self.seen = None
            return True

    # ---- the worker's side --------------------------------------------------------------

    def handle(
        self,
        run: Run,
        handler: Callable[[Any], object],
        *,
        per_batch: bool,
        gate: Gate | None,
        clock: Callable[[], float],
        halted: Callable[[], bool],
        call_help: Callable[[], None] | None = None,
    ) -> RunOutcome | None:
        """Run ``handler`` over ``run``; None if the watchdog took the run over.
        ``call_help`` is called once if the run goes on for ``HELP_AFTER_S``."""
        records = run.records
        part = run.lane.part
        tp = part.tp
        cursor: RecordCursor | None = None
        units: Sequence[Any]
        if per_batch:
            units = (records,)
        elif type(records) is RecordRun:
            units = records.messages()
            cursor = records.cursor()
        else:
            units = records
        latency = self.latency
        counts = latency.counts
        first_bucket = LATENCY_BUCKETS[0]
        count = len(units)
        pos = 0
        size = self.chunk_size
        error: BaseException | None = None
        ending = _COMPLETED
        run_started = chunk_started = clock()
        trusted_until = run_started  # ask the gate before the first record
        self.run_started = run_started
        if cursor is not None:
            record, refs = cursor.fresh()
        while pos < count:
            if part.closing or halted():
                ending = _STOPPED
                break
            if gate is not None and chunk_started >= trusted_until:
                if not gate(tp):
                    ending = _DEFERRED
                    break
                trusted_until = chunk_started + GATE_TRUST_S
            if pos and chunk_started - run_started >= RUN_SLICE_S:
                ending = _YIELDED
                break
            chunk = units[pos : pos + size]
            iterator: Iterator[Any] = iter(chunk)
            self.chunk = (run, iterator, pos, len(chunk))
            stopped = False
            try:
                if cursor is None:
                    for unit in iterator:
                        if self.interrupted:
                            stopped = True
                            break
                        handler(unit)
                else:
                    count_refs = getrefcount  # a local: read per record
                    for message in iterator:
                        if self.interrupted:
                            stopped = True
                            break
                        record._message = message  # the cursor's record, moved on
                        handler(record)
                        if count_refs(record) != refs:
                            record, refs = cursor.fresh()  # the handler kept it
            except BaseException as exc:  # a failed attempt, whatever the handler raised
                error = exc
            begun = len(chunk) - length_hint(iterator) - stopped
            now = clock()
            if begun:
                took = now - chunk_started
                if took <= first_bucket:
                    counts[0] += begun
                else:
                    counts[bisect_left(LATENCY_BUCKETS, took)] += 1
                    counts[0] += begun - 1
                latency.total += took
            pos += begun if error is None else begun - 1
            if error is not None:
                ending = _FAILED
                break
            if stopped:
                with self.lock:
                    if self.claimed is not None:
                        self._abandon()
                        return None
                    self.interrupted = False
                trusted_until = now  # whatever interrupted, the gate is asked again
            size = min(size * 2, MAX_CHUNK) if now - chunk_started <= CHUNK_GROW_S else 1
            chunk_started = now
            if call_help is not None and now - run_started >= HELP_AFTER_S:
                call_help()
                call_help = None
        self.chunk_size = size
        with self.lock:
            if self.claimed is not None:
                self._abandon()
                return None
            self.run = None
            self.chunk = None
            self.interrupted = False
        if per_batch:
            return RunOutcome(ending, len(records) if pos else 0, error)
        return RunOutcome(ending, pos, error)

    def _abandon(self) -> None:
        """Leave the run to the watchdog, which has reported it (called under ``lock``)."""
        self.run = None
        self.chunk = None
        self.claimed = None
        self.abandoned = False
        self.interrupted = False


class ThreadWorkers:
    """The worker threads of a manager whose handler is a plain function. Each loops:
    take a run (``Scheduler.wait_for_run``), handle it, settle it."""

    def __init__(
        self, workers: Sequence[ThreadWorker], context: WorkerContext, late_results: Counter
    ) -> None:
        self._workers = workers
        self._context = context
        self._late_results = late_results

    def targets(self) -> list[tuple[str, Callable[[], None]]]:
        """(thread name, thread target) per worker."""
        return [
            (f"turnout-work-{i}", functools.partial(self._main, worker))
            for i, worker in enumerate(self._workers)
        ]

    def _main(self, worker: ThreadWorker) -> None:
        context = self._context
        lock = context.lock
        scheduler = context.scheduler
        settle = context.settle
        handler = context.handler
        per_batch = context.per_batch
        gate = context.gate
        clock = context.clock
        halted = context.lifecycle.is_halted
        with lock:
            scheduler.enlist_thread()
        while True:
            with lock:
                run = scheduler.wait_for_run()
                worker.run = run  # under the lock: close_partition sees it
            if run is None:
                return
            outcome = worker.handle(
                run,
                handler,
                per_batch=per_batch,
                gate=gate,
                clock=clock,
                halted=halted,
                call_help=self._call_help if scheduler.fetch is not None else None,
            )
            if outcome is None:
                # The watchdog timed the attempt out and settled the run already.
                self._late_results.inc()
                continue
            settle(run, outcome)

    def _call_help(self) -> None:
        with self._context.lock:
            self._context.scheduler.call_help()
