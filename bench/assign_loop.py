"""A plain confluent-kafka consume loop (``assign()``, no group rebalancing) that drives a
``Dispatcher`` the way the agent does: submit every record, pause partitions whose
``wants_more`` is False, commit ``commit_point`` with ``CommitMetadata`` (``done`` offsets),
and on open skip what a predecessor's metadata says is done.

Used by the benchmarks (and the work manager's real-Kafka tests); it is not the agent
(no ZooKeeper ownership, no fencing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby

from confluent_kafka import Consumer, Message, TopicPartition
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from turnout.agent.dispatch import CommitPoint, Dispatcher
from turnout.agent.records import RecordRun
from turnout.controlplane.kafka_admin import COORDINATOR_RETRY_S, coordinator_busy
from turnout.protocol.models import CommitMetadata
from turnout.protocol.partitions import PartitionId

#: One consume call returns at most this many records: large enough to amortise the call.
CONSUME_BATCH = 1000
#: How long one consume call may wait for records; short so pauses and commits stay prompt.
CONSUME_TIMEOUT_S = 0.05
#: With every partition paused, the bounds are looked at again this often (the workers
#: free room within milliseconds; consume() would wait its whole timeout).
ALL_PAUSED_RECHECK_S = 0.001
#: Commits happen at most this often (the agent's default interval is similar).
COMMIT_INTERVAL_S = 0.5
#: Kafka look-ups (committed offsets, watermarks) answer in milliseconds on a healthy broker.
KAFKA_REQUEST_TIMEOUT_S = 10.0


def _topic_partition_of(message: Message) -> tuple[str | None, int | None]:
    return message.topic(), message.partition()


def _offset_of(message: Message) -> int:
    offset = message.offset()
    assert offset is not None  # a record without an error has its offset
    return offset


def read_committed(
    bootstrap: str, group: str, tps: Iterable[PartitionId]
) -> dict[PartitionId, tuple[int, CommitMetadata | None]]:
    """The group's committed offsets and Turnout metadata (partitions with none are left out)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        # A fresh broker answers "not coordinator" for a few seconds: ask again.
        found = Retrying(
            retry=retry_if_exception(coordinator_busy),
            stop=stop_after_delay(COORDINATOR_RETRY_S),
            wait=wait_exponential_jitter(multiplier=0.1, max=1.0),
            reraise=True,
        )(
            consumer.committed,
            [TopicPartition(t, p) for t, p in tps],
            timeout=KAFKA_REQUEST_TIMEOUT_S,
        )
    finally:
        consumer.close()
    return {
        (tp.topic, tp.partition): (tp.offset, CommitMetadata.decode(tp.metadata))
        for tp in found
        if tp.offset >= 0
    }


@dataclass
class AssignLoop:
    bootstrap: str
    group: str
    tps: list[PartitionId]
    dispatcher: Dispatcher
    instance: str = "harness"
    epoch: int = 1
    consumer_config: dict[str, str | int] = field(default_factory=dict)
    consumed: int = 0
    commits: int = 0

    def __post_init__(self) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                **self.consumer_config,
            }
        )
        self._paused: set[PartitionId] = set()
        #: The offset after the last record handed over, per partition: where a resumed
        #: partition is sought to.
        self._next: dict[PartitionId, int] = {}
        self._last_commit = 0.0
        self._latest: dict[PartitionId, CommitPoint] = {}
        self._committed: dict[PartitionId, CommitPoint] = {}

    def open(self) -> dict[PartitionId, frozenset[int]]:
        """Open every partition at its committed offset, skipping its ``done`` offsets."""
        committed = read_committed(self.bootstrap, self.group, self.tps)
        assignment = []
        skips: dict[PartitionId, frozenset[int]] = {}
        for tp in self.tps:
            offset, metadata = committed.get(tp, (0, None))
            skip = frozenset(metadata.done) if metadata else frozenset()
            skips[tp] = skip
            self.dispatcher.open_partition(tp, offset, skip)
            assignment.append(TopicPartition(tp[0], tp[1], offset))
        self._consumer.assign(assignment)
        return skips

    def poll_once(self) -> int:
        if len(self._paused) == len(self.tps) or not self.dispatcher.has_room():
            # Everything is paused, or the dispatcher is full (then polls stop rather than
            # pauses, as in the agent): consume() would sit out its whole timeout although
            # the workers free room within milliseconds. Look at the bounds again shortly.
            time.sleep(ALL_PAUSED_RECHECK_S)
            self._update_pauses()
            self._maybe_commit()
            return 0
        messages = self._consumer.consume(CONSUME_BATCH, CONSUME_TIMEOUT_S)
        submit_run = self.dispatcher.submit_run
        epoch = self.epoch
        good = [message for message in messages if message.error() is None]
        # A fetch returns each partition's records together: submit them run by run.
        for (topic, partition), run in groupby(good, _topic_partition_of):
            assert topic is not None and partition is not None
            batch = list(run)
            offsets = [_offset_of(m) for m in batch]
            self._next[(topic, partition)] = offsets[-1] + 1
            submit_run((topic, partition), RecordRun(batch, offsets, topic, partition, epoch))
        self.consumed += len(messages)
        self._update_pauses()
        self._maybe_commit()
        return len(messages)

    def _maybe_commit(self) -> None:
        now = time.monotonic()
        if now - self._last_commit >= COMMIT_INTERVAL_S:
            self._last_commit = now
            self.commit()

    def run(self, until: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"the consume loop did not finish within {timeout_s} s")
            self.poll_once()

    def commit(self, final: dict[PartitionId, CommitPoint | None] | None = None) -> None:
        points = dict(self._latest)
        for tp in self.tps:
            point = self.dispatcher.commit_point(tp)
            if point is not None:
                points[tp] = point
        for tp, point in (final or {}).items():
            if point is not None:
                points[tp] = point
        self._latest = points
        offsets = [
            TopicPartition(
                tp[0],
                tp[1],
                point.next_offset,
                metadata=CommitMetadata.model_validate(
                    {"epoch": self.epoch, "instance": self.instance, "done": point.done_beyond}
                ).encode(),
            )
            for tp, point in points.items()
            if self._committed.get(tp) != point
        ]
        if offsets:
            self._consumer.commit(offsets=offsets, asynchronous=False)
            self.commits += 1
            for tp, point in points.items():
                self._committed[tp] = point

    def close(self, drain_timeout_s: float = 10.0, commit: bool = True) -> None:
        final = {tp: self.dispatcher.close_partition(tp, drain_timeout_s) for tp in self.tps}
        if commit:
            self.commit(final)
        self.dispatcher.close(drain_timeout_s)
        self._consumer.close()

    def abandon(self) -> None:
        """Go away without draining or committing (the nearest thing to a crash in-process)."""
        self._consumer.close()

    def _update_pauses(self) -> None:
        wants = self.dispatcher.wants_more
        pause = [tp for tp in self.tps if tp not in self._paused and not wants(tp)]
        resume = [tp for tp in self._paused if wants(tp)]
        if pause:
            self._consumer.pause([TopicPartition(t, p) for t, p in pause])
            self._paused.update(pause)
        if resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in resume])
            self._paused.difference_update(resume)
            # As the agent does (KafkaSource.set_paused): a seek after the resume wakes
            # librdkafka's fetcher, which otherwise may sleep up to 1 s when every
            # partition was paused.
            for tp in resume:
                if tp in self._next:
                    self._consumer.seek(TopicPartition(tp[0], tp[1], self._next[tp]))
