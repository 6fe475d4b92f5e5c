"""The failure policy: what happens to a record whose attempt failed.

A failed attempt (one record, or a whole batch) is, per record:

    failed --not permanent, attempts left--> waiting for its retry (backoff, on a timer;
                                             only its lane waits)
    failed --PermanentFailure, or attempts used up--> exhausted
    exhausted --on_failure says COMMIT_*, no dead-letter sink--> complete
    exhausted --COMMIT_*, dead-letter sink, rate guard allows--> dead-lettering (an
        exclusive lane's next run waits until its letters are handed to the sink)
    exhausted --COMMIT_*, rate guard trips--> held, and the manager halts
    exhausted --DO_NOT_COMMIT_*--> held (the commit point stays at it for this ownership)
    dead-lettering --the sink acknowledged--> complete
    dead-lettering --the sink failed--> held, and the manager halts
    *_AND_STOP, in addition --> the manager halts (``Lifecycle``)

A ``on_failure`` callback that raises counts as DO_NOT_COMMIT_AND_STOP: a broken callback
must not lose the record. Decisions for a partition that is closing by then are counted
and dropped (the next owner processes the records again).

Escalation: every exhausted record counts in a ``FailureWindow``; when
``retry_threshold`` of them fall within ``retry_window``, ``on_escalation`` chooses
CONTINUE, PAUSE (opens the circuit breaker for ``breaker_cooldown``, ``flow.py``) or STOP
(halts); a callback that raises counts as STOP.

The user's callbacks and the dead-letter sink are called without the lock, on the thread
that settled the failed run (a worker, the event loop's thread, or the watchdog); the
bookkeeping around them takes the shared lock. ``retry`` is called with it held.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence

from turnout.agent.records import Record
from turnout.agent.work.config import WorkConfig
from turnout.agent.work.dead_letters import DeadLetterSink
from turnout.agent.work.flow import FlowControl
from turnout.agent.work.guards import Backoff, DeadLetterGuard, FailureWindow
from turnout.agent.work.lanes import Lane, PartitionWork, Retry
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.metrics import WorkMetrics
from turnout.agent.work.outcomes import (
    Escalation,
    EscalationAction,
    EscalationCallback,
    FailedDecision,
    Failure,
    FailureCallback,
)
from turnout.agent.work.scheduler import Scheduler
from turnout.agent.work.thread_worker import ThreadWorker

log = logging.getLogger(__name__)


class FailurePolicy:
    def __init__(
        self,
        config: WorkConfig,
        *,
        lock: threading.Lock,
        flow: FlowControl,
        scheduler: Scheduler,
        lifecycle: Lifecycle,
        metrics: WorkMetrics,
        clock: Callable[[], float],
        workers: Sequence[ThreadWorker],
        on_failure: FailureCallback | None,
        on_escalation: EscalationCallback | None,
        dead_letters: DeadLetterSink | None,
        on_held: Callable[[str], None] | None = None,
    ) -> None:
        self._config = config
        #: Told (without the lock) of a record a DO_NOT_COMMIT_* decision holds: its
        #: partition's commits stop there for this ownership, a condition the agent's
        #: status must show, not only a log line.
        self._on_held = on_held
        self._lock = lock
        self._flow = flow
        self._scheduler = scheduler
        self._lifecycle = lifecycle
        self._metrics = metrics
        self._clock = clock
        self._workers = workers
        self._on_failure = on_failure or default_on_failure(dead_letters is not None)
        self._on_escalation = on_escalation or _pause_on_escalation
        self._dead_letters = dead_letters
        self._max_attempts = config.max_attempts
        self._backoff = Backoff(
            config.backoff, config.backoff_multiplier, config.backoff_max, config.backoff_jitter
        )
        self._failures = FailureWindow(config.retry_threshold, config.retry_window)
        dl = config.dead_letter
        #: Successes count too (``Settlement`` feeds them), for the dead-letter share.
        self.dead_letter_guard = DeadLetterGuard(
            dl.max_ratio, dl.ratio_window, dl.min_samples, dl.max_consecutive
        )

    def retry(
        self, lane: Lane, failed: Sequence[Record], attempts: int, permanent: bool, now: float
    ) -> bool:
        """Count a failed attempt of ``failed`` (the ``attempts``-th); schedule its retry
        and end the lane's turn if it has attempts left (True), else leave the lane
        scheduled for the decision (False: call ``exhausted``)."""
        part = lane.part
        topic = part.tp[0]
        self._metrics.failed.labels(topic).inc()
        if permanent or attempts >= self._max_attempts:
            # An exclusive lane stays scheduled (blocked) until the decision is applied.
            return False
        self._metrics.retried.labels(topic).inc()
        due = now + self._backoff.delay(attempts)
        # A record of a shared lane retries on an exclusive lane of its own.
        target = lane if lane.exclusive else Lane(part, None, True, scheduled=True)
        self._scheduler.park(target, Retry(failed, attempts, due))
        self._scheduler.end_turn(lane)
        return True

    def exhausted(
        self,
        lane: Lane,
        failed: Sequence[Record],
        error: BaseException,
        attempts: int,
        permanent: bool,
    ) -> None:
        """Decide the fate of each of ``failed`` (no retry left) and apply it; then the
        lane goes on. Called without the lock."""
        part = lane.part
        log.warning(
            "%s/%d@%d: %s after %d attempt(s): %r",
            part.tp[0], part.tp[1], failed[0].offset,
            "permanent failure" if permanent else "attempts used up", attempts, error,
        )  # fmt: skip
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
        held: list[str] = []
        with self._lock:
            live = not part.closing
            topic = part.tp[0]
            for record, decision in decisions:
                self._metrics.exhausted.labels(topic, decision.name).inc()
                if not live:
                    continue
                where = f"{topic}/{record.partition}@{record.offset}"
                if decision.commits and self._dead_letters is not None:
                    trip = self.dead_letter_guard.dead_letter(self._clock())
                    if trip is not None:
                        self._hold(part, record)
                        self.halt(f"{trip.reason} (at {where})")
                        continue
                    part.running += 1
                    to_send.append(record)
                elif decision.commits:
                    part.tracker.complete(record.offset)
                    self._flow.retire(part, 1)
                else:
                    self._hold(part, record)
                    if not decision.stops:  # a stop is the agent's to report
                        held.append(f"{where} ({decision.name})")
                if decision.stops:
                    self.halt(f"failure decision {decision.name} at {where}: {error!r}")
            if not live:
                self._flow.retire(part, len(failed))
            if lane.exclusive and not to_send:
                self._scheduler.end_turn(lane)
        if held and self._on_held is not None:
            self._on_held(
                f"commits held at {held[0]}"
                + (f" and {len(held) - 1} more" if len(held) > 1 else "")
                + f": {error!r}"
            )
        if not to_send:
            return
        for record in to_send:
            assert self._dead_letters is not None
            self._dead_letters.send(
                record, error, attempts, functools.partial(self._dead_lettered, part, record)
            )
        if lane.exclusive:
            # Only now: the lane's next run must not start before its dead letters are
            # handed over, so that a sink writing them with the partition's offsets (the
            # exactly-once one) never runs beside, or after, a later run of the lane.
            with self._lock:
                self._scheduler.end_turn(lane)

    def _dead_lettered(
        self, part: PartitionWork, record: Record, error: BaseException | None
    ) -> None:
        """The sink's report for one dead letter (on its poll thread)."""
        with self._lock:
            part.running -= 1
            if part.closing:
                self._flow.drained.notify_all()
            if part.closed:
                self._flow.retire(part, 1)
                return
            if error is None:
                self._metrics.dead_lettered.labels(part.tp[0]).inc()
                part.tracker.complete(record.offset)
                self._flow.retire(part, 1)
            else:
                self._metrics.dead_letter_errors.labels(part.tp[0]).inc()
                self._hold(part, record)
                self.halt(
                    f"dead letter of {part.tp[0]}/{part.tp[1]}@{record.offset} failed: {error}"
                )

    def _hold(self, part: PartitionWork, record: Record) -> None:
        part.tracker.hold(record.offset)
        self._flow.retire(part, 1)

    def halt(self, reason: str) -> None:
        """Halt the manager and stop every worker before its next record (lock held)."""
        self._lifecycle.halt(reason)
        for worker in self._workers:
            worker.interrupt()

    def _call_on_failure(self, failure: Failure) -> FailedDecision:
        try:
            return self._on_failure(failure)
        except Exception:
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
            self._flow.open_breaker(self._config.breaker_cooldown)
        elif action is EscalationAction.STOP:
            with self._lock:
                self.halt(
                    f"{escalation.failures} records exhausted their attempts within "
                    f"{escalation.window_s:.0f} s"
                )


def default_on_failure(has_dead_letters: bool) -> FailureCallback:
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
