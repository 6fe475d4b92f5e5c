"""Work manager configuration, with the original go_kafka_client names where the idea is the same.

Read once when the manager is built; nothing here is touched per record.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from turnout.agent.work.completion import DEFAULT_DONE_BUDGET_BYTES
from turnout.protocol.processing import Ordering


class DeadLetterConfig(BaseModel):
    """Where exhausted records that are committed go, and when to stop sending them there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: ``{topic}`` is replaced by the record's topic.
    topic: str = "{topic}.dlq"
    #: Create a missing dead-letter topic before its first letter (as many partitions as
    #: the record's topic, the broker's default replication). False: a missing topic fails
    #: the letter at once, with a clear error, for clusters where applications may not
    #: create topics.
    create_topic: bool = True
    #: Stop when more than this share of the records finished within ``ratio_window``
    #: were dead-lettered (Arroyo's ``max_invalid_ratio``)...
    max_ratio: float = Field(default=0.1, gt=0.0, le=1.0)
    ratio_window: float = Field(default=60.0, gt=0.0)
    #: ...once at least this many records finished in the window (one early failure out of
    #: one record is not a bad deploy).
    min_samples: int = Field(default=100, ge=1)
    #: Stop after this many dead letters in a row with no success in between
    #: (Arroyo's ``max_consecutive_count``).
    max_consecutive: int = Field(default=50, ge=1)
    #: Header values longer than this are cut (a stack of nested errors can be huge).
    max_error_message_bytes: int = Field(default=4096, ge=64)


class WorkConfig(BaseModel):
    """Every knob of the work manager; see docs/work-management.md for the reasoning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ordering: Ordering = Ordering.PARTITION
    #: Handler calls running at once (go_kafka_client ``NumWorkers``). Threads for plain
    #: functions; concurrent tasks on the manager's event loop for coroutines.
    workers: int = Field(default=10, ge=1, le=4096)
    #: Records accepted but not finished (queued, running, waiting to retry, being
    #: dead-lettered) per partition; at the bound ``wants_more`` is False and the agent
    #: pauses the partition's fetch (which drops what the client prefetched for it).
    max_in_flight_per_partition: int = Field(default=10_000, ge=1)
    #: The same over every partition: at the bound ``has_room`` is False and the agent
    #: stops polling (nothing is dropped). The memory bound. Several times the per-partition
    #: bound, so that a stuck partition (held at its own bound) leaves the others room.
    max_in_flight: int = Field(default=40_000, ge=1)
    #: The memory bound in bytes (values and keys of the records in flight): at the bound
    #: ``has_room`` is False as at ``max_in_flight``. 40,000 records of 100 KB would hold
    #: 4 GB; this keeps large records within what the process can afford. Estimated from
    #: the records in flight and their recent mean size (``flow.py``).
    max_in_flight_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    #: How far the consume loop may run ahead of the workers: past this many records in
    #: flight (not counting partitions at their own bound) it holds its polls while the
    #: workers are catching up, and goes on polling when they are not (a slow or stuck
    #: partition, which its own bound then pauses). Under one GIL every record queued
    #: early costs the workers time; and a loop far ahead of them on one partition
    #: would pause it at its bound, which drops what Kafka prefetched. Three polls' worth.
    max_ahead: int = Field(default=6_000, ge=1)
    #: Offsets remembered between a partition's lowest unfinished record and its newest one.
    #: One slow record in ``key`` or ``unordered`` mode lets later ones finish past it; this
    #: caps how far, so memory stays bounded while it is stuck.
    max_uncommitted_per_partition: int = Field(default=50_000, ge=1)
    #: Records a worker takes from one ordering lane before giving others a turn; a run
    #: also gives its turn up after ``thread_worker.RUN_SLICE_S`` (20 ms), so long runs
    #: cost slow handlers no fairness, and fast ones amortise the manager's per-run work.
    run_size: int = Field(default=1000, ge=1)
    #: Records per call of a batch handler at most (go_kafka_client ``FetchBatchSize``,
    #: which defaulted to 100). 500, Kafka's ``max.poll.records``: each call costs the work
    #: manager the same whatever its size, so fewer, larger batches cost less per record
    #: (figures in docs/work-management.md); a call never waits for a batch to fill, and a
    #: failed batch is retried whole, which argues against going much higher.
    batch_size: int = Field(default=500, ge=1)
    #: Retries after the first attempt (go_kafka_client ``MaxWorkerRetries``): 3 means up to
    #: 4 attempts. A ``PermanentFailure`` skips the remaining retries.
    max_retries: int = Field(default=3, ge=0)
    #: First retry delay in seconds (go_kafka_client ``WorkerBackoff``, which was constant).
    backoff: float = Field(default=0.5, ge=0.0)
    #: Each further retry waits ``backoff_multiplier`` times longer, up to ``backoff_max``...
    backoff_multiplier: float = Field(default=2.0, ge=1.0)
    backoff_max: float = Field(default=30.0, ge=0.0)
    #: ...plus a uniform random 0..``backoff_jitter`` seconds, so retries of many records do
    #: not fire together.
    backoff_jitter: float = Field(default=0.1, ge=0.0)
    #: Seconds one attempt may take (go_kafka_client ``WorkerTaskTimeout``); a timed-out
    #: attempt counts as failed.
    task_timeout: float = Field(default=60.0, gt=0.0)
    #: Escalate when this many records exhausted their attempts within ``retry_window``
    #: seconds (go_kafka_client ``WorkerRetryThreshold`` / ``WorkerThresholdTimeWindow``).
    retry_threshold: int = Field(default=100, ge=1)
    retry_window: float = Field(default=60.0, gt=0.0)
    #: How long an escalation that chose PAUSE keeps consumption paused (the circuit
    #: breaker) before it closes again by itself; ``resume()`` closes it earlier.
    breaker_cooldown: float = Field(default=30.0, gt=0.0)
    #: Dead-letter settings; used when the manager has a dead-letter sink.
    dead_letter: DeadLetterConfig = DeadLetterConfig()
    #: Bytes of commit metadata spent on completed offsets past the first gap.
    done_budget_bytes: int = Field(default=DEFAULT_DONE_BUDGET_BYTES, ge=0, le=3840)

    @model_validator(mode="after")
    def _bounds_are_consistent(self) -> WorkConfig:
        if self.max_in_flight_per_partition > self.max_uncommitted_per_partition:
            raise ValueError(
                "max_in_flight_per_partition must not exceed max_uncommitted_per_partition"
            )
        if self.backoff_max < self.backoff:
            raise ValueError("backoff_max must be at least backoff")
        return self

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1
