"""Getting records into Kafka without losing any: the memory queue, the spool, replay.

Where a record is at each moment (a record is *safe* once Kafka acknowledged it or once
it is fsynced in the spool):

1. in the Kafka producer's queue (memory; bounded by ``memory_queue_lines`` and
   ``memory_queue_bytes``), until the broker acknowledges it;
2. or, when that queue is full, in the spool (disk; bounded by ``spool_max_bytes``),
   written at once and fsynced within ``SYNC_INTERVAL_S``;
3. when the spool is full too, nowhere new: the stream listeners stop reading their
   sockets (``blocked``), so senders' TCP windows close and they wait.

The producer never gives up on a record (``message.timeout.ms`` 0): a broker outage
leaves records queued in memory, not failed. Successful deliveries are not reported
back (``delivery.report.only.error``), so the hot path does no per-record Python after
``produce``; only a permanent refusal (e.g. an unknown topic) is reported, counted as
``dropped{reason="rejected"}`` and logged.

States::

    LIVE ──queue full for SPILL_AFTER_S──▶ SPOOLING ──spool empty, queue empty──▶ LIVE
                                             │  ▲
                      producer queue empty   ▼  │  segment acknowledged (deleted)
                                           REPLAYING one sealed segment

- LIVE: records go to the producer.
- SPOOLING: every new record goes to the end of the spool, so order is kept. Once the
  producer's queue is empty (everything older is in Kafka), the oldest sealed segment is
  produced again (REPLAYING, still in SPOOLING) and deleted when the queue is empty
  again. A worker that starts with a non-empty spool starts here.

Shutdown (``close``): the producer is flushed for ``SHUTDOWN_FLUSH_S``; what is still
queued is purged and comes back through the error report: records that were only in
memory are written to a new segment *in front of* the spool (they are older than it);
records of a segment being replayed are already on disk and are simply left there.
Either way, a stop (SIGTERM) loses nothing; only a crash (SIGKILL, power loss) loses
what was in memory and not yet fsynced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Final, Protocol

from confluent_kafka import KafkaError, Message
from prometheus_client import Counter

from turnout.syslog import metrics
from turnout.syslog.spool import Spool, SpoolRecord

log = logging.getLogger(__name__)

#: How long a full producer queue is waited on before records go to disk: a short
#: burst above the broker's pace passes without touching the spool, an outage does not.
SPILL_AFTER_S: Final = 1.0
#: One wait on a full queue (the loop serves producer callbacks in between).
_QUEUE_FULL_POLL_S: Final = 0.05
#: Spooled records are fsynced at most this late: one fsync per interval instead of
#: one per read keeps the spool's pace near the disk's sequential speed.
SYNC_INTERVAL_S: Final = 0.05
#: A healthy local broker acknowledges a full memory queue (100k lines) in well under
#: this; during an outage the stop is not held up longer than this.
SHUTDOWN_FLUSH_S: Final = 3.0
#: After a purge, each poll hands back purged records; a few polls return them all.
_PURGE_DRAIN_S: Final = 5.0
#: A permanently refused record is logged once per this many, not each time.
_REJECTED_LOG_EVERY: Final = 1000


class ProducerPort(Protocol):
    """What the delivery needs of confluent-kafka's ``Producer``."""

    def produce(self, topic: str, value: bytes, key: bytes | None = ...) -> None: ...
    def poll(self, timeout: float = ...) -> int: ...
    def flush(self, timeout: float = ...) -> int: ...
    def purge(self, in_queue: bool = ..., in_flight: bool = ..., blocking: bool = ...) -> None: ...
    def __len__(self) -> int: ...


class State(Enum):
    LIVE = "live"
    SPOOLING = "spooling"


def producer_config(
    bootstrap: str, memory_lines: int, memory_bytes: int, max_message: int,
    overrides: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Turnout's producer defaults; ``overrides`` (the ``kafka`` setting) win."""
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 20,
        "batch.num.messages": 10_000,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": memory_lines,
        "queue.buffering.max.kbytes": max(1, memory_bytes // 1024),
        "message.timeout.ms": 0,
        "delivery.report.only.error": True,
        "message.max.bytes": max(1_000_000, 2 * max_message + 4096),
        **overrides,
    }


class Delivery:
    """One worker's path to Kafka. Called from one event loop: not thread-safe."""

    def __init__(
        self,
        make_producer: Callable[[Callable[[KafkaError | None, Message], None]], ProducerPort],
        spool: Spool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = make_producer(self._on_failure)
        self._spool = spool
        self._clock = clock
        self.state = State.LIVE if spool.is_empty else State.SPOOLING
        self._replay_path: Path | None = None
        self._replay_records: list[SpoolRecord] = []
        self._replay_cursor = 0
        self._last_sync = clock()
        self._collecting: list[SpoolRecord] | None = None
        self._rejected = 0
        self._spooled_counters: dict[str, Counter] = {}
        self._produced_counters: dict[str, Counter] = {}

    # ---- state ------------------------------------------------------------------------

    @property
    def blocked(self) -> bool:
        """True while the spool is full: stream listeners must stop reading."""
        return self.state is State.SPOOLING and self._spool.is_full

    @property
    def memory_depth(self) -> int:
        return len(self._producer)

    @property
    def spool_depth(self) -> int:
        return self._spool.records

    # ---- the hot path -----------------------------------------------------------------

    def submit(
        self,
        listener: str,
        topics: str | Sequence[str],
        keys: bytes | Sequence[bytes | None] | None,
        values: Sequence[bytes],
    ) -> None:
        """Hand over one batch (``topics``/``keys`` per record, or one for all)."""
        if not values:
            return
        handed = 0
        if self.state is State.LIVE:
            handed = self._produce(topics, keys, values, 0)
            if handed < len(values):
                handed = self._wait_for_room(topics, keys, values, handed)
            self._count(self._produced_counters, metrics.PRODUCED, listener, handed)
        if handed < len(values):
            self._to_spool(listener, topics, keys, values, handed)

    def _produce(
        self,
        topics: str | Sequence[str],
        keys: bytes | Sequence[bytes | None] | None,
        values: Sequence[bytes],
        start: int,
    ) -> int:
        """Produce ``values[start:]``; the index of the first one the queue refused."""
        produce = self._producer.produce
        index = start
        try:
            if isinstance(topics, str) and (keys is None or isinstance(keys, bytes)):
                if keys is None:
                    for index in range(start, len(values)):
                        produce(topics, values[index])
                else:
                    for index in range(start, len(values)):
                        produce(topics, values[index], keys)
            else:
                for index in range(start, len(values)):
                    produce(_at(topics, index), values[index], _at(keys, index))
        except BufferError:
            return index
        return len(values)

    def _wait_for_room(
        self,
        topics: str | Sequence[str],
        keys: bytes | Sequence[bytes | None] | None,
        values: Sequence[bytes],
        handed: int,
    ) -> int:
        deadline = self._clock() + SPILL_AFTER_S
        while handed < len(values) and self._clock() < deadline:
            self._producer.poll(_QUEUE_FULL_POLL_S)
            handed = self._produce(topics, keys, values, handed)
        if handed < len(values):
            log.warning(
                "the Kafka producer's queue stayed full: spooling to disk",
                extra={"event": "spooling", "queued": len(self._producer)},
            )
            self.state = State.SPOOLING
        return handed

    def _to_spool(
        self,
        listener: str,
        topics: str | Sequence[str],
        keys: bytes | Sequence[bytes | None] | None,
        values: Sequence[bytes],
        start: int,
    ) -> None:
        records = [
            (_at(topics, index), _at(keys, index), values[index])
            for index in range(start, len(values))
        ]
        self._spool.append(records)
        self._count(self._spooled_counters, metrics.SPOOLED, listener, len(records))

    @staticmethod
    def _count(cache: dict[str, Counter], counter: Counter, listener: str, amount: int) -> None:
        if amount:
            child = cache.get(listener)
            if child is None:
                child = cache[listener] = counter.labels(listener)
            child.inc(amount)

    # ---- the periodic step ------------------------------------------------------------

    def tick(self) -> None:
        """Serve producer callbacks, fsync the spool, replay, update gauges."""
        self._producer.poll(0)
        now = self._clock()
        if now - self._last_sync >= SYNC_INTERVAL_S:
            self._spool.sync()
            self._last_sync = now
        if self.state is State.SPOOLING:
            self._replay_step()
        metrics.QUEUE_DEPTH.labels("memory").set(len(self._producer))
        metrics.QUEUE_DEPTH.labels("spool").set(self._spool.records)
        metrics.SPOOL_BYTES.set(self._spool.total_bytes)

    def _replay_step(self) -> None:
        if self._replay_path is None:
            if len(self._producer):
                return  # older records are still on their way: keep the order
            if self._spool.oldest_sealed() is None:
                if self._spool.is_empty:
                    self.state = State.LIVE
                    log.info("spool replayed: back to live", extra={"event": "live"})
                    return
                self._spool.seal()
            path = self._spool.oldest_sealed()
            assert path is not None
            self._replay_path = path
            self._replay_records = self._spool.read(path)
            self._replay_cursor = 0
        records = self._replay_records
        produce = self._producer.produce
        try:
            while self._replay_cursor < len(records):
                topic, key, value = records[self._replay_cursor]
                produce(topic, value, key)
                self._replay_cursor += 1
        except BufferError:
            return
        if len(self._producer) == 0:
            self._spool.remove(self._replay_path, len(records))
            metrics.REPLAYED.inc(len(records))
            self._replay_path, self._replay_records = None, []

    # ---- failures and shutdown --------------------------------------------------------

    def _on_failure(self, error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or ""
        if self._collecting is not None:
            self._collecting.append((topic, message.key(), message.value() or b""))
            return
        self._rejected += 1
        metrics.DROPPED.labels("kafka", "rejected").inc()
        if self._rejected % _REJECTED_LOG_EVERY == 1:
            log.error(
                "Kafka refused a record for good; it is dropped",
                extra={"event": "rejected", "topic": topic, "error": str(error),
                       "rejected_so_far": self._rejected},
            )  # fmt: skip

    def close(self) -> None:
        """Flush what Kafka takes within ``SHUTDOWN_FLUSH_S``; spool the rest."""
        self._spool.sync()
        remaining = self._producer.flush(SHUTDOWN_FLUSH_S)
        if remaining:
            self._collecting = []
            self._producer.purge(True, True, False)
            deadline = self._clock() + _PURGE_DRAIN_S
            while len(self._producer) and self._clock() < deadline:
                self._producer.poll(0.1)
            collected, self._collecting = self._collecting, None
            if self._replay_path is None:
                self._spool.write_front(collected)
                metrics.SPOOLED.labels("shutdown").inc(len(collected))
            log.info(
                "stopped with records still queued for Kafka",
                extra={"event": "shutdown-spooled", "records": len(collected),
                       "already_spooled": self._replay_path is not None},
            )  # fmt: skip
        elif self._replay_path is not None and self._replay_cursor == len(self._replay_records):
            self._spool.remove(self._replay_path, len(self._replay_records))
            metrics.REPLAYED.inc(len(self._replay_records))
        self._spool.close()


def _at(value: Any, index: int) -> Any:
    return value if value is None or isinstance(value, str | bytes) else value[index]
