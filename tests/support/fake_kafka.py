"""A Kafka without records for the agent's model-based test (T13): group offsets and
partition counts, and one ``FakeSource`` per agent consumer standing in for
``turnout.agent.kafka_source.KafkaSource``.

Polls return nothing: the test's dispatcher makes up the records it processes (offsets
counted per partition), so the agent's routing is not exercised here. Every commit goes
through ``on_commit`` first, with the consumer that sends it, so the test can check who
commits what, and when; the commit is then stored whatever the check found (Kafka checks
nothing: the agent's own guard is all there is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from confluent_kafka import Message

from turnout.agent.kafka_source import KafkaSource
from turnout.protocol.partitions import PartitionId

#: (the committing consumer, offsets: tp -> (next offset, metadata)) of a commit about to
#: be stored.
CommitCheck = Callable[["FakeSource", Mapping[PartitionId, tuple[int, str]]], None]


class FakeKafka:
    def __init__(self, partitions: Mapping[str, int]) -> None:
        self.partitions = dict(partitions)
        #: (group, tp) -> (next offset, metadata).
        self.committed: dict[tuple[str, PartitionId], tuple[int, str]] = {}
        self.on_commit: CommitCheck = lambda source, offsets: None

    def source(self, instance: str, group: str) -> FakeSource:
        return FakeSource(self, instance, group)


class FakeSource(KafkaSource):
    def __init__(self, kafka: FakeKafka, instance: str, group: str) -> None:  # no consumer
        self.group = group
        self.instance = instance
        self._kafka = kafka
        self._assigned: set[PartitionId] = set()
        self._paused: set[PartitionId] = set()
        self.closed = False
        #: Warm-ups asked for, and what the next one raises (None: it succeeds).
        self.warm_ups = 0
        self.warm_up_error: Exception | None = None
        #: What every metadata read raises (None: it answers), and whether a new client
        #: would reach the cluster meanwhile (``cluster_answers``).
        self.metadata_error: Exception | None = None
        self.cluster_up = True
        self.metadata_reads = 0

    def assign(self, starts: Sequence[tuple[PartitionId, int]], *, paused: bool = True) -> None:
        """Added paused (the agent resumes them) or fetching, as the real one."""
        tps = [tp for tp, _ in starts]
        self._assigned.update(tps)
        if paused:
            self._paused.update(tps)
        else:
            self._paused.difference_update(tps)

    def is_fetching(self, tp: PartitionId) -> bool:
        """Assigned and not paused (what the test reads of the consumer)."""
        return tp in self._assigned and tp not in self._paused

    def unassign(self, tps: Iterable[PartitionId]) -> None:
        for tp in tps:
            self._assigned.discard(tp)
            self._paused.discard(tp)

    @property
    def topics_assigned(self) -> int:
        return len({topic for topic, _ in self._assigned})

    def set_paused(self, wanted: set[PartitionId], seek: Mapping[PartitionId, int]) -> None:
        self._paused = wanted & self._assigned

    def pause(self, tps: Iterable[PartitionId]) -> None:
        self._paused.update(tp for tp in tps if tp in self._assigned)

    def poll(self, timeout_s: float, max_records: int = 2000) -> list[Message]:
        return []

    def partition_counts(
        self, topics: Sequence[str], pattern: Callable[[str], bool] | None = None
    ) -> dict[str, int]:
        self.metadata_reads += 1
        if self.metadata_error is not None:
            raise self.metadata_error
        counts = {topic: self._kafka.partitions.get(topic, 0) for topic in topics}
        if pattern is not None:
            counts |= {t: n for t, n in self._kafka.partitions.items() if pattern(t)}
        return counts

    def cluster_answers(self) -> bool:
        return self.cluster_up

    def warm_up(self, partitions: Mapping[str, int]) -> None:
        """Nothing to connect to; raises ``warm_up_error`` if a test set one."""
        self.warm_ups += 1
        if self.warm_up_error is not None:
            raise self.warm_up_error

    def watermarks(self, tp: PartitionId) -> tuple[int, int]:
        return 0, 0

    def cached_high_watermark(self, tp: PartitionId) -> int | None:
        return None

    def committed(
        self, tps: Sequence[PartitionId]
    ) -> dict[PartitionId, tuple[int, str | None] | None]:
        found = self._kafka.committed
        return {tp: found.get((self.group, tp)) for tp in tps}

    def commit(self, offsets: Mapping[PartitionId, tuple[int, str]]) -> None:
        self._kafka.on_commit(self, offsets)
        for tp, value in offsets.items():
            self._kafka.committed[(self.group, tp)] = value

    def close(self) -> None:
        self.closed = True
