"""Following a mirror's offset syncs topic: one consumer kept open, each ``refresh``
reading only what was written since the last.

``read_syncs`` reads the whole topic once (a command, a checkpoint tick); a colour
consuming a mirror's copies (``migration``) re-reads it at every claim and while a claim
waits for the mirror, so it keeps a ``SyncFollower`` instead: a refresh costs a
watermark request and the new syncs.

States::

    closed ──refresh (the topic exists)──▶ following: assigned at the topic's start
    closed ──refresh (no topic yet)──▶ closed (``SyncTopicMissing``; the next refresh
        looks again)
    following ──refresh──▶ following (the syncs up to the high watermark added)
    following ──close──▶ closed
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from pydantic import ValidationError

from turnout.mirror.sync_topic import (
    READ_POLL_TIMEOUT_S,
    SyncMessage,
    SyncTable,
    SyncTopicMissing,
    offset_syncs_topic,
)
from turnout.mirror.target_topics import ADMIN_TIMEOUT_S

log = logging.getLogger(__name__)

#: How long a broker holds a fetch with nothing new (librdkafka's default is 500 ms): a
#: reader of what is already written wants the answer at once.
FETCH_WAIT_MAX_MS = 10


class SyncFollower:
    """The syncs of one mirror deployment, read incrementally (see the module)."""

    def __init__(
        self, bootstrap: str, deployment: str, client: Mapping[str, str | int] | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._deployment = deployment
        self._topic = offset_syncs_topic(deployment)
        self._client = dict(client or {})
        self._consumer: Consumer | None = None
        #: The next offset of the sync topic to read.
        self._position = 0
        self.table = SyncTable()

    def refresh(self) -> SyncTable:
        """Every sync written up to now added to ``table``; raises ``SyncTopicMissing``
        (no sync topic yet) or ``KafkaException`` (the cluster does not answer)."""
        consumer = self._consumer or self._open()
        partition = TopicPartition(self._topic, 0)
        high = consumer.get_watermark_offsets(partition, ADMIN_TIMEOUT_S)[1]
        while self._position < high:
            message = consumer.poll(READ_POLL_TIMEOUT_S)
            if message is None:
                raise KafkaException(
                    KafkaError(
                        KafkaError._TIMED_OUT, f"reading {self._topic} stalled at {self._position}"
                    )
                )
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    # An end reached by an earlier refresh may still be queued, before
                    # what was written since: only an end at or past ``high`` is this one.
                    if (message.offset() or 0) >= high:
                        break
                    continue
                raise KafkaException(error)
            self._position = (message.offset() or 0) + 1
            try:
                sync = SyncMessage.model_validate_json(message.value() or b"")
            except ValidationError:
                log.warning(
                    "offset %d of %s is not an offset sync: skipped",
                    self._position - 1,
                    self._topic,
                )
                continue
            self.table.add(sync)
        return self.table

    def _open(self) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"turnout.mirror.translate.{self._deployment}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                # A refresh reads to a high watermark it has just seen: the broker should
                # answer at once, not hold the fetch for new syncs.
                "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
                **self._client,
            }
        )
        try:
            found = consumer.list_topics(self._topic, timeout=ADMIN_TIMEOUT_S).topics.get(
                self._topic
            )
            if found is None or found.error is not None:
                raise SyncTopicMissing(
                    f"no offset syncs topic {self._topic!r} on {self._bootstrap}"
                )
            low = consumer.get_watermark_offsets(TopicPartition(self._topic, 0), ADMIN_TIMEOUT_S)[0]
        except Exception:
            consumer.close()
            raise
        self._position = low
        consumer.assign([TopicPartition(self._topic, 0, low if low >= 0 else OFFSET_BEGINNING)])
        self._consumer = consumer
        return consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
