"""The strictly sequential dispatcher: one worker per open partition, the handler called
once per record in offset order.

Per partition (a *lane*)::

    OPEN ──close_partition──▶ CLOSING (queued records dropped; the in-flight one may
                              finish within the timeout) ──▶ CLOSED

A record completes when the handler returns. A handler that raises is retried on the
same record with capped exponential backoff (:data:`RETRY_BACKOFF_MAX_S`) and counted
and logged each time; the record is never skipped, so the partition stalls visibly
(``handler_errors`` grows) until the handler succeeds or the partition is closed. Before
starting a record, and before each retry, the worker asks the agent's gate
(``may_start``): while fenced, paused or releasing the record waits. The work manager's
dispatchers replace this one through ``Agent(dispatcher_factory=...)``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence

from turnout.agent.dispatch import GATE_RECHECK_S, CommitPoint, DispatchContext
from turnout.agent.records import Record
from turnout.protocol.partitions import PartitionId

#: Records queued per partition before ``wants_more`` says no and the agent pauses the
#: fetch: enough to hide a fetch round trip, small enough to drop cheaply on release.
MAX_QUEUED_PER_PARTITION = 500
#: First retry of a failed record waits this long, doubling up to the maximum: a
#: transient fault clears in one retry, a hard one costs one log line per 5 s.
RETRY_BACKOFF_INITIAL_S = 0.05
RETRY_BACKOFF_MAX_S = 5.0

logger = logging.getLogger("turnout.agent.dispatch")


class _Lane:
    def __init__(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        self.tp = tp
        self.queue: collections.deque[Record] = collections.deque()
        self.next_offset = next_offset
        self.skip = skip
        self.closing = False
        self.in_flight = False
        self.reported = next_offset  # nothing is new until a record completes
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None

    def is_closing(self) -> bool:
        return self.closing

    def point(self) -> CommitPoint:
        beyond = tuple(sorted(o for o in self.skip if o >= self.next_offset))
        return CommitPoint(self.next_offset, beyond)


class SequentialDispatcher:
    def __init__(self, context: DispatchContext) -> None:
        self._ctx = context
        self._lanes: dict[PartitionId, _Lane] = {}
        self._lock = threading.Lock()

    @classmethod
    def factory(cls, context: DispatchContext) -> SequentialDispatcher:
        return cls(context)

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        lane = _Lane(tp, next_offset, skip)
        lane.thread = threading.Thread(
            target=self._work, args=(lane,), name=f"turnout-lane-{tp[0]}-{tp[1]}", daemon=True
        )
        with self._lock:
            old = self._lanes.get(tp)
            if old is not None and not old.closing:
                raise RuntimeError(f"partition {tp} is already open")
            self._lanes[tp] = lane
        lane.thread.start()

    def submit(self, record: Record) -> None:
        lane = self._lanes.get(record.tp)
        if lane is None or lane.closing:
            return
        with lane.cond:
            lane.queue.append(record)
            lane.cond.notify()

    def submit_run(self, tp: PartitionId, records: Sequence[Record]) -> None:
        lane = self._lanes.get(tp)
        if lane is None or lane.closing:
            return
        with lane.cond:
            lane.queue.extend(records)
            lane.cond.notify()

    def set_high_watermark(self, tp: PartitionId, high_watermark: int) -> None:
        # No lag gauge here: the sequential dispatcher keeps no per-partition metrics.
        del tp, high_watermark

    def has_room(self) -> bool:
        return True  # bounded per partition only (``wants_more``)

    def wait_for_room(self, timeout_s: float) -> None:
        return None  # never full

    def wants_more(self, tp: PartitionId) -> bool:
        lane = self._lanes.get(tp)
        return lane is not None and len(lane.queue) < MAX_QUEUED_PER_PARTITION

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        lane = self._lanes.get(tp)
        if lane is None:
            return None
        with lane.cond:
            if lane.reported == lane.next_offset:
                return None
            lane.reported = lane.next_offset
            return lane.point()

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        with self._lock:
            lane = self._lanes.pop(tp, None)
        if lane is None:
            return None
        deadline = time.monotonic() + timeout_s
        with lane.cond:
            lane.closing = True
            lane.queue.clear()
            lane.cond.notify_all()
            while lane.in_flight and (left := deadline - time.monotonic()) > 0:
                lane.cond.wait(left)
            return lane.point()

    def stop_reason(self) -> str | None:
        return None

    def close(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for tp in list(self._lanes):
            self.close_partition(tp, max(0.0, deadline - time.monotonic()))

    # ---- worker -------------------------------------------------------------------------

    def _next(self, lane: _Lane) -> Record | None:
        """The next record to run, once the gate allows it; None when closing."""
        with lane.cond:
            while True:
                if lane.closing:
                    return None
                if lane.queue and self._ctx.may_start(lane.queue[0].tp):
                    lane.in_flight = True
                    return lane.queue.popleft()
                lane.cond.wait(GATE_RECHECK_S)

    def _work(self, lane: _Lane) -> None:
        while (record := self._next(lane)) is not None:
            done = False
            try:
                # An offset in ``skip`` was completed by a predecessor past its commit
                # point: it completes without running the handler again.
                done = record.offset in lane.skip or self._run(lane, record)
            finally:
                with lane.cond:
                    lane.in_flight = False
                    if done:
                        # Also while closing: a record finished inside the drain timeout
                        # belongs in the final commit point.
                        lane.next_offset = record.offset + 1
                    lane.cond.notify_all()

    def _run(self, lane: _Lane, record: Record) -> bool:
        """Run the handler until it succeeds; False if the partition closed or the gate
        shut before it did."""
        backoff = RETRY_BACKOFF_INITIAL_S
        attempt = 0
        while True:
            attempt += 1
            try:
                self._ctx.handler(record)
            except Exception as exc:
                self._ctx.metrics.inc("handler_errors")
                logger.warning(
                    "handler failed on %s/%d@%d (attempt %d), retrying in %.2f s: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    attempt,
                    backoff,
                    exc,
                    extra={
                        "event": "handler_error",
                        "instance": self._ctx.instance,
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "attempt": attempt,
                    },
                )
                with lane.cond:
                    if lane.cond.wait_for(lane.is_closing, timeout=backoff):
                        return False
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)
                while not self._ctx.may_start(record.tp):
                    with lane.cond:
                        if lane.cond.wait_for(lane.is_closing, timeout=GATE_RECHECK_S):
                            return False
                continue
            self._ctx.metrics.inc("records_processed")
            return True
