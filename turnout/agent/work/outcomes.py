"""What a handler can say, and what the user decides when a record keeps failing.

Handler contract: returning (any value) is success; raising is a failed attempt, retried
with backoff until ``max_retries`` is used up; raising ``PermanentFailure`` (or a subclass)
skips the remaining retries. A timed-out attempt fails with ``AttemptTimedOut``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from turnout.agent.records import Record
from turnout.protocol.partitions import PartitionId


class PermanentFailure(Exception):
    """Raise (or subclass) in a handler when retrying cannot help, e.g. an unparseable record."""


class RecordFailed(Exception):
    """Raised by a batch handler whose run failed at one record: the ``done`` records
    before it succeeded (and are complete), ``cause`` is what the record's attempt raised,
    and the records after it were not attempted. The failure policy then retries or
    decides for that one record alone (with ``cause`` as its error), as for a per-record
    handler, instead of for the whole run."""

    def __init__(self, done: int, cause: BaseException) -> None:
        super().__init__(f"failed after {done} record(s): {cause!r}")
        if done < 0:
            raise ValueError(f"done must be >= 0, got {done}")
        self.done = done
        self.cause = cause


class AttemptTimedOut(Exception):
    """An attempt ran past ``task_timeout``. Retryable: the next attempt may be faster."""


class FailedDecision(Enum):
    """go_kafka_client's ``FailedDecision``, with DO_NOT_COMMIT made to really hold.

    COMMIT_*: the record counts as complete (after the dead-letter topic acknowledged it,
    when the manager has a dead-letter sink). DO_NOT_COMMIT_*: the commit point stays at
    the record for the rest of this ownership, whatever completes after it, so the next
    owner processes it again. *_AND_STOP: ``stop_reason()`` is set and no new record starts.
    """

    COMMIT_AND_CONTINUE = 0
    DO_NOT_COMMIT_AND_CONTINUE = 1
    COMMIT_AND_STOP = 2
    DO_NOT_COMMIT_AND_STOP = 3

    @property
    def commits(self) -> bool:
        return self in (FailedDecision.COMMIT_AND_CONTINUE, FailedDecision.COMMIT_AND_STOP)

    @property
    def stops(self) -> bool:
        return self in (FailedDecision.COMMIT_AND_STOP, FailedDecision.DO_NOT_COMMIT_AND_STOP)

    @property
    def held(self) -> FailedDecision:
        """This decision, but never committing: for a record that must not be skipped."""
        if self is FailedDecision.COMMIT_AND_CONTINUE:
            return FailedDecision.DO_NOT_COMMIT_AND_CONTINUE
        if self is FailedDecision.COMMIT_AND_STOP:
            return FailedDecision.DO_NOT_COMMIT_AND_STOP
        return self


@dataclass(frozen=True, slots=True)
class Failure:
    """A record whose attempts are used up (or that failed permanently)."""

    record: Record
    error: BaseException
    attempts: int
    permanent: bool


class EscalationAction(Enum):
    #: Note it (log, metric) and carry on.
    CONTINUE = "continue"
    #: Open the circuit breaker: ``wants_more`` is False for every partition until
    #: ``breaker_cooldown`` passes or ``resume()`` is called. Running work finishes.
    PAUSE = "pause"
    #: Set ``stop_reason()``: the agent stops.
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Escalation:
    """``failures`` records exhausted their attempts within ``window_s`` seconds."""

    failures: int
    window_s: float
    last: Failure


MessageHandler = Callable[[Record], object]
AsyncMessageHandler = Callable[[Record], Awaitable[object]]
BatchHandler = Callable[[Sequence[Record]], object]
AsyncBatchHandler = Callable[[Sequence[Record]], Awaitable[object]]
FailureCallback = Callable[[Failure], FailedDecision]
EscalationCallback = Callable[[Escalation], EscalationAction]
#: ``lag_of(tp) -> records behind the high watermark``; see ``WorkManager.set_high_watermark``.
LagSource = Callable[[PartitionId], int | None]
