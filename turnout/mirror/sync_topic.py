"""The mirror's offset syncs on the TARGET cluster: written as it copies, read to translate.

Topic: ``offset_syncs_topic(deployment)``, ``turnout.mirror.<deployment>.offset-syncs``,
one partition (so one reader sees every sync in the order written), ``cleanup.policy``
``delete`` (a compacted topic would keep only the newest sync of a partition, and
translation needs older ones for groups that are behind). Created by the mirror on its
first sync. Each record: key ``<source topic>/<partition>``, value the JSON of
``SyncMessage``.

``SyncWriter`` is the mirror's ``WriteObserver``: after a run of a source partition is
acknowledged by the target, it holds the run's last (source offset, target offset) as
the partition's newest position and writes it when ``SyncSchedule`` says it is due or,
for a partition gone quiet, on the next tick of its flusher thread (every
``SYNC_EVERY_S``), and on ``flush`` (the handler closing). So the newest copied position
of every partition is synced within ``SYNC_EVERY_S``. The first run this writer copies of
a partition (a claim) has its first record synced at once too: without that a group
behind the first run's end could not be translated. A sync that fails to be written is
logged and dropped: translation then uses an older sync (a looser bound, never a wrong
offset).

States of the writer::

    idle ──a run written──▶ running: the flusher thread started; the sync topic created
        if missing (once; a failure is retried at the next write)
    running ──flush(timeout) (the handler closing)──▶ idle: the flusher stopped, every
        held position written and waited for (a later run starts it again: the writer
        outlives one settings version's handler)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from pydantic import BaseModel, ConfigDict

from turnout.agent.processors.output_target import OffsetSpan, TargetPartition
from turnout.agent.records import Record
from turnout.mirror.offset_syncs import SYNC_EVERY_S, OffsetSync, SyncHistory, SyncSchedule
from turnout.mirror.target_topics import ADMIN_TIMEOUT_S
from turnout.protocol.mirror import TopicNaming

log = logging.getLogger(__name__)

#: A source topic and partition.
SourcePartition = tuple[str, int]

#: How long reading the sync topic waits for one record before it counts as stuck: a
#: local broker answers in milliseconds, a busy one in seconds.
READ_POLL_TIMEOUT_S = 10.0


def offset_syncs_topic(deployment: str) -> str:
    return f"turnout.mirror.{deployment}.offset-syncs"


class SyncMessage(BaseModel):
    """One sync as written to the sync topic."""

    model_config = ConfigDict(frozen=True)

    source_topic: str
    partition: int
    source_offset: int
    target_topic: str
    target_offset: int


class SyncWriter:
    """Writes the mirror's offset syncs to the target cluster (see the module)."""

    def __init__(
        self,
        target_bootstrap: str,
        deployment: str,
        naming: TopicNaming,
        *,
        schedule: SyncSchedule | None = None,
        tick_s: float = SYNC_EVERY_S,
        client: Mapping[str, str] | None = None,
    ) -> None:
        self.topic = offset_syncs_topic(deployment)
        self._bootstrap = target_bootstrap
        #: librdkafka properties of the target cluster's clients (its security, say).
        self._client = dict(client or {})
        self._naming = naming
        self._schedule = schedule or SyncSchedule()
        self._tick_s = tick_s
        self._producer = Producer(
            {
                "bootstrap.servers": target_bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                **self._client,
            }
        )
        self._lock = threading.Lock()
        #: Each source partition's newest copied position not yet synced.
        self._held: dict[SourcePartition, SyncMessage] = {}
        self._topic_ready = False
        self._flusher: threading.Thread | None = None
        self._flusher_stop = threading.Event()

    def written(
        self, records: Sequence[Record], spans: Mapping[TargetPartition, OffsetSpan]
    ) -> None:
        runs: dict[SourcePartition, tuple[int, int]] = {}
        for record in records:
            where = (record.topic, record.partition)
            first = runs.get(where, (record.offset, 0))[0]
            runs[where] = (first, record.offset)
        now = time.monotonic()
        due: list[SyncMessage] = []
        with self._lock:
            for (topic, partition), (first, last) in runs.items():
                target_topic = self._naming.target_topic(topic)
                span = spans.get((target_topic, partition))
                if span is None:
                    continue
                where = (topic, partition)
                if not self._schedule.seen(where):
                    # The first position this writer copies (a claim): without it a
                    # group behind the first run's end could not be translated.
                    due.append(_sync(topic, partition, first, target_topic, span[0]))
                message = _sync(topic, partition, last, target_topic, span[1])
                if self._schedule.due(where, last, now):
                    self._schedule.synced(where, last, now)
                    self._held.pop(where, None)
                    due.append(message)
                else:
                    self._held[where] = message
            if self._flusher is None:
                stop = threading.Event()
                self._flusher = threading.Thread(
                    target=self._flush_until,
                    args=(stop,),
                    name="mirror-offset-syncs",
                    daemon=True,
                )
                self._flusher_stop = stop
                self._flusher.start()
            # Sent under the lock: a partition's syncs reach the topic in the order
            # they were taken (a reader takes an older one after a newer for a rewrite).
            self._send(due)

    def flush(self, timeout_s: float) -> None:
        with self._lock:
            flusher, self._flusher = self._flusher, None
            self._flusher_stop.set()
        if flusher is not None:
            flusher.join(timeout_s)
        self._send_held()
        remaining = self._producer.flush(timeout_s)
        if remaining:
            log.warning("%d offset syncs not acknowledged at close", remaining)

    def close(self, timeout_s: float) -> None:
        """Write out what is held, wait up to ``timeout_s`` for it, then release the
        producer (a sync still unacknowledged is dropped: translation uses an older one).
        The writer takes no more writes."""
        self.flush(timeout_s)
        self._producer.purge(in_queue=True, in_flight=True, blocking=True)
        self._producer.close()

    def _flush_until(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick_s):
            self._send_held()
            self._producer.poll(0)

    def _send_held(self) -> None:
        now = time.monotonic()
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
            for message in held:
                self._schedule.synced(
                    (message.source_topic, message.partition), message.source_offset, now
                )
            self._send(held)

    def _send(self, messages: list[SyncMessage]) -> None:
        """Queue ``messages`` (the caller holds the lock)."""
        if not messages:
            return
        if not self._topic_ready:
            self._topic_ready = _create_sync_topic(self._bootstrap, self.topic, self._client)
        for message in messages:
            self._producer.produce(
                self.topic,
                key=f"{message.source_topic}/{message.partition}".encode(),
                value=message.model_dump_json().encode(),
                on_delivery=_log_failure,
            )
        self._producer.poll(0)


def _sync(
    source_topic: str, partition: int, source_offset: int, target_topic: str, target_offset: int
) -> SyncMessage:
    return SyncMessage(
        source_topic=source_topic,
        partition=partition,
        source_offset=source_offset,
        target_topic=target_topic,
        target_offset=target_offset,
    )


def _log_failure(error: KafkaError | None, message: object) -> None:
    del message
    if error is not None:
        log.warning("an offset sync was not written (translation uses an older one): %s", error)


def _create_sync_topic(bootstrap: str, topic: str, client: Mapping[str, str]) -> bool:
    """Create the sync topic unless it exists; whether it is there now."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **client})
    new = NewTopic(
        topic, num_partitions=1, replication_factor=-1, config={"cleanup.policy": "delete"}
    )
    try:
        admin.create_topics([new], operation_timeout=ADMIN_TIMEOUT_S)[topic].result(ADMIN_TIMEOUT_S)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            log.warning("the offset syncs topic %s was not created: %s", topic, exc)
            return False
    return True


@dataclass
class SyncTable:
    """What a sync topic says: each source partition's syncs, and each source topic's
    target topic."""

    histories: dict[SourcePartition, SyncHistory] = field(default_factory=dict)
    target_topics: dict[str, str] = field(default_factory=dict)

    def add(self, sync: SyncMessage) -> None:
        self.target_topics[sync.source_topic] = sync.target_topic
        history = self.histories.setdefault((sync.source_topic, sync.partition), SyncHistory())
        history.add(OffsetSync(sync.source_offset, sync.target_offset))


class SyncTopicMissing(LookupError):
    """The target cluster has no sync topic for the deployment (nothing mirrored yet)."""


def read_syncs(
    bootstrap: str, deployment: str, client: Mapping[str, str | int] | None = None
) -> SyncTable:
    """Every sync the deployment's sync topic holds now, as each partition's history.
    Raises ``SyncTopicMissing``, or ``KafkaException`` when the cluster does not answer."""
    # Imported here: the follower builds on this module's types.
    from turnout.mirror.sync_follower import SyncFollower

    follower = SyncFollower(bootstrap, deployment, client)
    try:
        return follower.refresh()
    finally:
        follower.close()
