"""What the control plane asks Kafka: partitions, committed and end offsets, offset resets.

One AdminClient per cluster (``KafkaTarget``: bootstrap and security), shared
(librdkafka clients are thread-safe). Every call is
bounded by ``REQUEST_TIMEOUT_S``; failures raise :class:`KafkaDownError` with the reason,
which the API turns into 503 (mutations) or empty figures (live state).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._listoffsets import OffsetSpec
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from turnout.protocol import Binding
from turnout.protocol.kafka_security import KafkaSecurity
from turnout.protocol.partitions import PartitionId

#: Loopback admin requests take milliseconds; a live-state page must not hang longer
#: than this on a broker that is down.
REQUEST_TIMEOUT_S = 5.0

#: librdkafka's "no committed offset" marker.
OFFSET_INVALID = -1001
#: A fresh broker, or one whose group coordinator just moved, answers "not coordinator"
#: or "coordinator loading" for a few seconds: such answers are asked again this long
#: before the call reports Kafka down (503).
COORDINATOR_RETRY_S = 10.0
_COORDINATOR_BUSY = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)


def coordinator_busy(exc: BaseException) -> bool:
    """True for a "coordinator not ready" answer, worth asking again (``COORDINATOR_RETRY_S``)."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(error, KafkaError) and error.code() in _COORDINATOR_BUSY


@dataclass(frozen=True)
class KafkaTarget:
    """A cluster's Kafka as the control plane reaches it."""

    bootstrap: str
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def __str__(self) -> str:
        """For errors: where, and as whom when secured (never the secret)."""
        if self.security.security_protocol == "PLAINTEXT":
            return self.bootstrap
        return f"{self.bootstrap} ({self.security.describe()})"


class KafkaDownError(Exception):
    """Kafka did not answer (or refused); the message says why."""


def _latest() -> Any:
    return OffsetSpec.latest()  # type: ignore[no-untyped-call]


def _earliest() -> Any:
    return OffsetSpec.earliest()  # type: ignore[no-untyped-call]


class KafkaAdmin:
    def __init__(self) -> None:
        self._clients: dict[KafkaTarget, AdminClient] = {}
        self._readers: dict[tuple[KafkaTarget, str], Consumer] = {}
        self._lock = threading.Lock()

    def _client(self, target: KafkaTarget) -> AdminClient:
        with self._lock:
            client = self._clients.get(target)
            if client is None:
                client = AdminClient(
                    {
                        **target.security.client_config(),
                        "bootstrap.servers": target.bootstrap,
                        "socket.timeout.ms": int(REQUEST_TIMEOUT_S * 1000),
                        # Silence librdkafka's own stderr logging of a broker that is down;
                        # the caller reports the failure.
                        "log_level": 0,
                    }
                )
                self._clients[target] = client
            return client

    def partitions(self, target: KafkaTarget, topics: Iterable[str]) -> list[PartitionId]:
        """Every partition of ``topics``, sorted; a missing topic has none."""
        wanted = set(topics)
        return self._partitions(target, wanted.__contains__)

    def binding_partitions(self, target: KafkaTarget, binding: Binding) -> list[PartitionId]:
        """Every partition of the binding's topics, those its pattern takes now too."""
        return self._partitions(target, binding.matches)

    def _partitions(self, target: KafkaTarget, takes: Callable[[str], bool]) -> list[PartitionId]:
        try:
            metadata = self._client(target).list_topics(timeout=REQUEST_TIMEOUT_S)
        except KafkaException as exc:
            raise KafkaDownError(f"Kafka at {target}: {exc}") from exc
        found: list[PartitionId] = []
        for topic, described in metadata.topics.items():
            if described.error is not None or not takes(topic):
                continue
            found.extend((topic, p) for p in described.partitions)
        return sorted(found)

    def _offset_reader(self, target: KafkaTarget, group: str) -> Consumer:
        # A consumer that never subscribes reads the group's commits (OffsetFetch) without
        # joining it. Not the AdminClient: its OffsetFetch crashes librdkafka when the
        # broker answers NOT_COORDINATOR (fresh broker or moved coordinator;
        # librdkafka#5040), while the consumer retries that answer itself.
        with self._lock:
            reader = self._readers.get((target, group))
            if reader is None:
                reader = Consumer(
                    {
                        **target.security.client_config(),
                        "bootstrap.servers": target.bootstrap,
                        "group.id": group,
                        "enable.auto.commit": False,
                        "socket.timeout.ms": int(REQUEST_TIMEOUT_S * 1000),
                        "log_level": 0,
                    }
                )
                self._readers[(target, group)] = reader
            return reader

    def committed(
        self, target: KafkaTarget, group: str, tps: Iterable[PartitionId]
    ) -> dict[PartitionId, int | None]:
        wanted = [TopicPartition(t, p) for t, p in tps]
        if not wanted:
            return {}
        reader = self._offset_reader(target, group)
        try:
            result = Retrying(
                retry=retry_if_exception(coordinator_busy),
                stop=stop_after_delay(COORDINATOR_RETRY_S),
                wait=wait_exponential_jitter(multiplier=0.1, max=1.0),
                reraise=True,
            )(reader.committed, wanted, timeout=REQUEST_TIMEOUT_S)
        except KafkaException as exc:
            raise KafkaDownError(f"Kafka at {target}: committed offsets of {group}: {exc}") from exc
        offsets: dict[PartitionId, int | None] = {}
        for tp in result:
            if tp.error is not None:
                raise KafkaDownError(
                    f"Kafka at {target}: committed offset of {tp.topic}/{tp.partition} "
                    f"in {group}: {tp.error}"
                )
            offset = int(tp.offset)
            offsets[(tp.topic, tp.partition)] = None if offset < 0 else offset
        return offsets

    def offsets_at(
        self, target: KafkaTarget, specs: Mapping[PartitionId, Any]
    ) -> dict[PartitionId, int]:
        """Offsets for ``OffsetSpec``s (earliest, latest, for_timestamp) per partition."""
        if not specs:
            return {}
        request = {TopicPartition(t, p): spec for (t, p), spec in specs.items()}
        try:
            futures = self._client(target).list_offsets(request, request_timeout=REQUEST_TIMEOUT_S)
            return {
                (tp.topic, tp.partition): int(future.result(timeout=REQUEST_TIMEOUT_S).offset)
                for tp, future in futures.items()
            }
        except (KafkaException, TimeoutError) as exc:
            raise KafkaDownError(f"Kafka at {target}: list offsets: {exc}") from exc

    def end_offsets(
        self, target: KafkaTarget, tps: Iterable[PartitionId]
    ) -> dict[PartitionId, int]:
        return self.offsets_at(target, {tp: _latest() for tp in tps})

    def earliest_offsets(
        self, target: KafkaTarget, tps: Iterable[PartitionId]
    ) -> dict[PartitionId, int]:
        return self.offsets_at(target, {tp: _earliest() for tp in tps})

    def offsets_for_time(
        self, target: KafkaTarget, tps: Iterable[PartitionId], timestamp_ms: int
    ) -> dict[PartitionId, int]:
        """First offset at or after ``timestamp_ms``; the end offset when there is none."""
        found = self.offsets_at(target, {tp: OffsetSpec.for_timestamp(timestamp_ms) for tp in tps})
        missing = [tp for tp, offset in found.items() if offset < 0]
        if missing:
            found.update(self.end_offsets(target, missing))
        return found

    def alter_committed(
        self, target: KafkaTarget, group: str, offsets: Mapping[PartitionId, int]
    ) -> None:
        request = [
            ConsumerGroupTopicPartitions(
                group, [TopicPartition(t, p, offset) for (t, p), offset in offsets.items()]
            )
        ]
        try:
            futures = self._client(target).alter_consumer_group_offsets(
                request, request_timeout=REQUEST_TIMEOUT_S
            )
            result = futures[group].result(timeout=REQUEST_TIMEOUT_S)
        except (KafkaException, TimeoutError) as exc:
            raise KafkaDownError(f"Kafka at {target}: alter offsets of {group}: {exc}") from exc
        failed = [tp for tp in result.topic_partitions if tp.error is not None]
        if failed:
            raise KafkaDownError(
                f"Kafka refused offsets of {group}: "
                + ", ".join(f"{tp.topic}/{tp.partition}: {tp.error}" for tp in failed)
            )
