"""The supervisor: one thread that does what no worker can do for itself.

On every beat it:

- makes lanes whose retry (or gate recheck) is due ready again;
- reports the records a worker finished earlier in a run it is still in (stuck on a slow
  record, or in a long run), so they are committed and free their in-flight slots
  without waiting for the run's end (per-message handlers; a batch settles whole);
- in fetching mode, calls for help for a worker whose run has gone on ``HELP_AFTER_S``
  (a handler that went quiet mid-chunk cannot call for help itself);
- asks the ownership gate for every busy worker's partition and interrupts a run whose
  gate shut, so no record of it starts more than about ``GATE_TRUST_S`` later;
- is the watchdog: an attempt seen running for longer than ``task_timeout`` is claimed
  (``ThreadWorker.claim``) and settled as FAILED with ``AttemptTimedOut``; its thread
  stays inside the handler, abandoned, and its late result is discarded.

Beat:

    busy --nothing in flight for BUSY_LINGER_S--> resting
    resting --a submit (``wake``), a retry falling due, the watchdog period--> busy/resting

busy: every ``GATE_TRUST_S`` (or sooner, for a retry due). resting: woken by the next
submit, the next retry due or the watchdog period, whichever comes first. The linger
keeps a stream of runs that each finish before the next poll from waking the supervisor
at every poll. The supervisor ends when the manager closes.

Locking: the beat's bookkeeping runs under the shared lock; the gate, claims and
settling a timed-out run do not (``settle`` takes the lock itself).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from turnout.agent.work.flow import FlowControl
from turnout.agent.work.lanes import Run
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.outcomes import AttemptTimedOut
from turnout.agent.work.scheduler import Scheduler
from turnout.agent.work.settlement import Settlement
from turnout.agent.work.thread_worker import GATE_TRUST_S, HELP_AFTER_S, ThreadWorker
from turnout.agent.work.worker_contract import Ending, RunOutcome
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: The watchdog looks at running attempts every task_timeout / WATCHDOG_DIVISIONS, so an
#: attempt is declared timed out at most 10 % late...
WATCHDOG_DIVISIONS = 10
#: ...but not more often than this (a tight timeout must not make the thread spin)...
WATCHDOG_MIN_PERIOD_S = 0.005
#: ...nor less often than this (retries and breaker cooldowns are checked on the same beat).
WATCHDOG_MAX_PERIOD_S = 1.0
#: The supervisor keeps its busy beat this long after records were last in flight.
BUSY_LINGER_S = 1.0


class Supervisor:
    def __init__(
        self,
        *,
        task_timeout_s: float,
        per_batch: bool,
        lock: threading.Lock,
        scheduler: Scheduler,
        settlement: Settlement,
        flow: FlowControl,
        lifecycle: Lifecycle,
        workers: Sequence[ThreadWorker],
        gate: Callable[[PartitionId], bool] | None,
        clock: Callable[[], float],
    ) -> None:
        self._timeout = task_timeout_s
        self._per_batch = per_batch
        self._lock = lock
        self._scheduler = scheduler
        self._settlement = settlement
        self._flow = flow
        self._lifecycle = lifecycle
        self._workers = workers
        self._gate = gate
        self._clock = clock
        self._period = min(
            WATCHDOG_MAX_PERIOD_S, max(WATCHDOG_MIN_PERIOD_S, task_timeout_s / WATCHDOG_DIVISIONS)
        )
        #: Waiting out the long beat: the next submit wakes the supervisor (``wake``).
        self.resting = False
        #: When records were last seen in flight.
        self._busy_at = 0.0

    def wake(self) -> None:
        """Work arrived while resting: back to the busy beat."""
        with self._lock:
            self.resting = False
            self._scheduler.timer.notify()

    def main(self) -> None:
        """The supervisor thread's target."""
        timeout = self._timeout
        gate = self._gate
        while True:
            with self._lock:
                if self._lifecycle.closed:
                    return
                now = self._clock()
                self._scheduler.requeue_due(now)
                self._report_progress(now)
                busy = [worker for worker in self._workers if worker.run is not None]
                if self._scheduler.fetch is not None and any(
                    now - worker.run_started >= HELP_AFTER_S for worker in busy
                ):
                    self._scheduler.call_help()  # a handler that went quiet mid-chunk
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
                error = AttemptTimedOut(f"no result within {timeout} s")
                self._settlement.settle(run, RunOutcome(Ending.FAILED, pos, error))
            if not self._rest():
                return

    def _report_progress(self, now: float) -> None:
        """Complete the records busy workers finished earlier in their runs (lock held)."""
        if self._per_batch:
            return
        for worker in self._workers:
            position = worker.position()
            if position is not None:
                # Every record before the one started last has succeeded.
                run, started_last = position
                self._settlement.report_progress(run, started_last, now)

    def _rest(self) -> bool:
        """Wait for the next beat; False once the manager is closed."""
        with self._lock:
            if self._lifecycle.closed:
                return False
            wait = self._period
            now = self._clock()
            if self._flow.in_flight > 0:
                self._busy_at = now
            busy = now - self._busy_at < BUSY_LINGER_S
            if busy:
                wait = min(wait, GATE_TRUST_S)
            due = self._scheduler.next_due()
            if due is not None:
                wait = min(wait, max(0.0, due - now))
            self.resting = not busy
            self._scheduler.timer.wait(wait)
            self.resting = False
            return True
