"""Helpers for the work manager's unit tests: records, bounded waiting, a fake clock and
the manager's pieces wired without threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from turnout.agent.dispatch import CommitPoint
from turnout.agent.records import Record, RecordRun
from turnout.agent.work import WorkConfig, WorkManager
from turnout.agent.work.dead_letters import DeadLetterSink
from turnout.agent.work.failure_policy import FailurePolicy
from turnout.agent.work.flow import FlowControl
from turnout.agent.work.lanes import PartitionWork, Run
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.metrics import WorkMetrics
from turnout.agent.work.outcomes import EscalationCallback, FailureCallback
from turnout.agent.work.scheduler import Scheduler
from turnout.agent.work.settlement import Settlement
from turnout.agent.work.worker_contract import Ending, RunOutcome
from turnout.protocol.partitions import PartitionId

TOPIC = "orders"
TP0 = (TOPIC, 0)
TP1 = (TOPIC, 1)
#: Retries that wait milliseconds, not seconds.
FAST = {"backoff": 0.005, "backoff_jitter": 0.0, "backoff_max": 0.02}
#: Generous: these tests run real threads on a shared 2-core machine.
WAIT_S = 10.0


def record(offset: int, key: bytes | None = None, partition: int = 0, topic: str = TOPIC) -> Record:
    return Record(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=b"v%d" % offset,
        headers=(("h", b"1"),),
        timestamp_ms=1_700_000_000_000 + offset,
        epoch=1,
    )


def build(managers: list[WorkManager], handler: object = None, **kwargs: object) -> WorkManager:
    """A manager with FAST retries; ``kwargs`` are ``WorkConfig`` fields or ``WorkManager``
    arguments. Closed by the ``managers`` fixture."""
    config_fields = {k: v for k, v in kwargs.items() if k in WorkConfig.model_fields}
    extra = {k: v for k, v in kwargs.items() if k not in WorkConfig.model_fields}
    manager = WorkManager(WorkConfig(**{**FAST, **config_fields}), handler=handler, **extra)  # type: ignore[arg-type]
    managers.append(manager)
    return manager


def fail_offset_any(rec: Record) -> None:
    raise RuntimeError(f"fails {rec.offset}")


def fetched_run(offsets: list[int], partition: int = 0) -> RecordRun:
    """A run as the agent's data path submits it: a view over fetched messages."""
    messages = [
        Message(topic=TOPIC, partition=partition, offset=o, value=b"v%d" % o) for o in offsets
    ]
    return RecordRun(messages, offsets, TOPIC, partition, 1)


def fetching(
    manager: WorkManager, runs: list[RecordRun], tp: tuple[str, int] = TP0
) -> list[threading.Thread]:
    """Let the manager fetch ``runs`` one per call (then nothing), as the agent's data path
    would; returns the threads that fetched."""
    fetchers: list[threading.Thread] = []
    pending = list(runs)

    def fetch() -> bool:
        fetchers.append(threading.current_thread())
        if pending:
            manager.submit_run(tp, pending.pop(0))
            return True
        time.sleep(0.005)  # an empty poll
        return False

    assert manager.take_over_fetching(fetch)
    return fetchers


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def settle(manager: WorkManager, tp: PartitionId, expected_next: int) -> CommitPoint:
    """Wait until the commit point of ``tp`` reaches ``expected_next``; return it."""
    seen: list[CommitPoint] = []

    def reached() -> bool:
        point = manager.commit_point(tp)
        if point is not None:
            seen.append(point)
        return bool(seen) and seen[-1].next_offset == expected_next

    wait_until(reached, f"commit point {expected_next} (last {seen[-1:] or None})")
    return seen[-1]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Core:
    """The work manager's pieces wired as ``WorkManager`` wires them, but with no thread:
    the test takes runs (as a worker would), settles them through the outcome contract,
    and moves the clock, all by hand."""

    def __init__(
        self,
        config: WorkConfig | None = None,
        *,
        per_batch: bool = False,
        on_failure: FailureCallback | None = None,
        on_escalation: EscalationCallback | None = None,
        dead_letters: DeadLetterSink | None = None,
    ) -> None:
        self.config = config or WorkConfig()
        self.clock = FakeClock()
        self.lock = threading.Lock()
        self.lifecycle = Lifecycle()
        self.parts: dict[PartitionId, PartitionWork] = {}
        self.flow = FlowControl(
            self.config, lock=self.lock, parts=self.parts, lifecycle=self.lifecycle,
            clock=self.clock,
        )  # fmt: skip
        self.scheduler = Scheduler(
            self.config, per_batch=per_batch, lock=self.lock, flow=self.flow,
            lifecycle=self.lifecycle, clock=self.clock,
        )  # fmt: skip
        self.registry = CollectorRegistry()
        self.policy = FailurePolicy(
            self.config, lock=self.lock, flow=self.flow, scheduler=self.scheduler,
            lifecycle=self.lifecycle, metrics=WorkMetrics(self.registry), clock=self.clock,
            workers=[], on_failure=on_failure, on_escalation=on_escalation,
            dead_letters=dead_letters,
        )  # fmt: skip
        self.settlement = Settlement(
            per_batch=per_batch, lock=self.lock, flow=self.flow, scheduler=self.scheduler,
            policy=self.policy, lifecycle=self.lifecycle, clock=self.clock,
        )  # fmt: skip

    def open(self, tp: PartitionId = (TOPIC, 0), next_offset: int = 0) -> PartitionWork:
        part = self.scheduler.new_partition(tp, next_offset, frozenset())
        self.parts[tp] = part
        return part

    def submit(self, part: PartitionWork, offsets: range, key: bytes | None = None) -> None:
        self.scheduler.submit(part, [record(o, key, partition=part.tp[1]) for o in offsets])

    def take(self) -> Run | None:
        with self.lock:
            return self.scheduler.take()

    def take_offsets(self) -> list[int] | None:
        run = self.take()
        return None if run is None else [r.offset for r in run.records]

    def settle(self, run: Run, ending: Ending, ok: int, error: BaseException | None = None) -> None:
        self.settlement.settle(run, RunOutcome(ending, ok, error))

    def point(self, part: PartitionWork) -> CommitPoint:
        with self.lock:
            return part.tracker.point()

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass and do the supervisor's retry beat."""
        self.clock.advance(seconds)
        with self.lock:
            self.scheduler.requeue_due(self.clock())
