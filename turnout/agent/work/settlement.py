"""Settling runs: what a worker's ``RunOutcome`` (``worker_contract.py``) does to the books.

``settle(run, outcome)`` is the one entry for every kind of worker and for the watchdog.
Under the shared lock it:

1. counts the run's records as no longer running (those the supervisor reported while
   the run went on were counted then), and wakes a ``close_partition`` waiting for them;
2. discards everything if the partition was closed meanwhile (a run of an ownership that
   ended): the records are retired, nothing is completed;
3. completes the ``ok`` leading records in the completion tracker (those the supervisor
   reported already, ``report_progress``, are not counted twice);
4. by the ending: COMPLETED/STOPPED retire the rest (none, or those not started) and end
   the lane's turn; YIELDED puts the rest back at the head of the lane; DEFERRED parks the
   lane for ``GATE_RECHECK_S`` with the rest at its head (a retry keeps its attempt
   count); FAILED puts the records after the failed one back and hands the failed one(s)
   to the failure policy, which schedules a retry or, once attempts are used up, decides
   (that part runs after the lock is released: it calls the user's callback). A batch
   handler's failure is the whole run's, unless it raised ``RecordFailed``: then the
   records before the one it names succeeded, and that one alone failed.

A YIELDED or DEFERRED run of a closing partition, or of a halted manager, is settled as
STOPPED, and a failure during a partition's close is dropped with the rest: the next
owner processes those records again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from turnout.agent.dispatch import GATE_RECHECK_S
from turnout.agent.work.failure_policy import FailurePolicy
from turnout.agent.work.flow import FlowControl
from turnout.agent.work.lanes import Retry, Run
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.outcomes import PermanentFailure, RecordFailed
from turnout.agent.work.scheduler import Scheduler
from turnout.agent.work.worker_contract import Ending, RunOutcome

#: The endings as module names: one global read per run, not a global and an attribute.
_COMPLETED = Ending.COMPLETED
_STOPPED = Ending.STOPPED
_YIELDED = Ending.YIELDED
_DEFERRED = Ending.DEFERRED
_FAILED = Ending.FAILED


class Settlement:
    def __init__(
        self,
        *,
        per_batch: bool,
        lock: threading.Lock,
        flow: FlowControl,
        scheduler: Scheduler,
        policy: FailurePolicy,
        lifecycle: Lifecycle,
        clock: Callable[[], float],
    ) -> None:
        self._per_batch = per_batch
        self._lock = lock
        self._flow = flow
        self._scheduler = scheduler
        self._policy = policy
        self._dead_letter_guard = policy.dead_letter_guard
        self._lifecycle = lifecycle
        self._clock = clock

    def settle(self, run: Run, outcome: RunOutcome) -> None:
        """Account for ``run`` as ``outcome`` says (see the module docstring). Takes the
        lock; called once per run, by its worker or by the watchdog."""
        lane = run.lane
        part = lane.part
        records = run.records
        ok = outcome.ok
        ending = outcome.ending
        error = outcome.error
        one_failed = not self._per_batch
        if isinstance(error, RecordFailed) and ending is _FAILED:
            # A batch handler's run failed at one record: the ones before it succeeded.
            ok = min(error.done, len(records) - 1)
            error = error.cause
            one_failed = True
        now = self._clock()
        with self._lock:
            reported = run.reported
            part.running -= len(records) - reported
            if part.closing:
                self._flow.drained.notify_all()
            if part.closed:
                self._flow.retire(part, len(records) - reported)
                lane.scheduled = False
                return
            if ok > reported:
                self._complete(run, ok, now)
            if ending is not _COMPLETED and ending is not _STOPPED:
                go_on = not part.closing and not self._lifecycle.halted
                if ending is _DEFERRED and go_on:
                    self._defer(run, ok, now)
                    return
                if ending is _YIELDED and go_on:
                    lane.records.appendleft(records[ok:])
                    self._scheduler.end_turn(lane, wake=False)
                    return
            if ending is not _FAILED or part.closing:
                self._flow.retire(part, len(records) - ok)
                self._scheduler.end_turn(lane, wake=False)
                return
            assert error is not None
            attempts = run.attempts + 1
            if not one_failed:
                failed = records[ok:]
            else:
                failed = records[ok : ok + 1]
                rest = records[ok + 1 :]
                if rest:
                    lane.records.appendleft(rest)
                    if not lane.exclusive and not lane.scheduled and lane.retry is None:
                        self._scheduler.make_ready(lane)
            permanent = isinstance(error, PermanentFailure)
            if self._policy.retry(lane, failed, attempts, permanent, now):
                return
        self._policy.exhausted(lane, failed, error, attempts, permanent)

    def report_progress(self, run: Run, upto: int, now: float) -> None:
        """The supervisor's report of a run still going on: its first ``upto`` records
        have succeeded (lock held). They are completed now, so they are committed and
        free their in-flight slots without waiting for the run's end; its settling later
        counts only the rest."""
        part = run.lane.part
        if upto > run.reported and not part.closed:
            part.running -= upto - run.reported
            self._complete(run, upto, now)
            if part.closing:
                self._flow.drained.notify_all()

    def _complete(self, run: Run, upto: int, now: float) -> None:
        """Complete ``run.records[run.reported:upto]`` (all succeeded)."""
        part = run.lane.part
        count = upto - run.reported
        part.tracker.complete_records(run.records[run.reported : upto])
        run.reported = upto
        self._flow.retire(part, count)
        part.processed += count
        self._dead_letter_guard.successes(count, now)

    def _defer(self, run: Run, ok: int, now: float) -> None:
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
        lane.scheduled = False
        self._scheduler.park(lane, retry)
