"""Finding source positions among a mirror's copies by their coordinate headers.

A colour consuming the copies (``migration``) that must start at a source position the
syncs do not settle yet reads the copies themselves: from the newest sync at or below
the position to the copies' high watermark, each copy's ``turnout.mirror.source.offset``
header, judged by ``migration_offsets.position_among_copies``. So the position is known
as soon as the mirror has copied it, not a sync later. Every partition asked about is
read at once, by one consumer kept for the colour's lifetime (assigned only while it
reads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as KafkaTP

from turnout.agent.kafka_source import KAFKA_REQUEST_TIMEOUT_S
from turnout.mirror.copier import SOURCE_OFFSET_HEADER
from turnout.mirror.migration_offsets import position_among_copies
from turnout.mirror.offset_syncs import OffsetSync
from turnout.mirror.sync_follower import FETCH_WAIT_MAX_MS
from turnout.protocol.partitions import PartitionId

#: Copies read per request: the stretch after the newest sync is at most
#: ``SYNC_EVERY_RECORDS`` records.
COPIES_READ_BATCH = 500
#: Longest wait for the next copies while reading (they are below the high watermark
#: already: this only bounds a slow fetch).
COPIES_POLL_S = 0.1

#: What ``positions`` is asked, per partition of the copies: the deployment's partition,
#: the source position, and the partition's syncs.
Wanted = tuple[PartitionId, int, Sequence[OffsetSync]]


class CopiesReader:
    """Reads the copies' coordinate headers on one cluster (see the module)."""

    def __init__(
        self,
        bootstrap: str,
        mirror: str,
        properties: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bootstrap = bootstrap
        self._mirror = mirror
        self._properties = dict(properties)
        self._clock = clock
        self._consumer: Consumer | None = None

    def positions(self, wanted: Mapping[PartitionId, Wanted]) -> dict[PartitionId, int]:
        """Per deployment partition, the copies' offset of its source position. Left
        out: the syncs do not reach that low, a copy has no headers, the copies end
        before it, or they were not read to their end within ``KAFKA_REQUEST_TIMEOUT_S``
        (the syncs decide then)."""
        reader = self._consumer or self._open()
        #: Copies' partition → (deployment's partition, position, first offset, end).
        plans: dict[PartitionId, tuple[PartitionId, int, int, int]] = {}
        for where, (tp, committed, syncs) in wanted.items():
            below = [sync for sync in syncs if sync.source <= committed]
            if not below:
                continue
            end = reader.get_watermark_offsets(KafkaTP(*where), KAFKA_REQUEST_TIMEOUT_S)[1]
            if below[-1].target < end:
                plans[where] = (tp, committed, below[-1].target, end)
        if not plans:
            return {}
        copies = self._read(reader, {where: (plan[2], plan[3]) for where, plan in plans.items()})
        positions = {}
        for where, (tp, committed, _, end) in plans.items():
            read = copies.get(where)
            position = None if read is None else position_among_copies(read, committed, end)
            if position is not None:
                positions[tp] = position
        return positions

    def _read(
        self, reader: Consumer, spans: Mapping[PartitionId, tuple[int, int]]
    ) -> dict[PartitionId, list[tuple[int, int | None]]]:
        """(offset, source offset) of every copy in each partition's span [first, end);
        the partitions not read to their end in time are left out."""
        copies: dict[PartitionId, list[tuple[int, int | None]]] = {where: [] for where in spans}
        unread = set(spans)
        reader.assign([KafkaTP(*where, first) for where, (first, _) in spans.items()])
        deadline = self._clock() + KAFKA_REQUEST_TIMEOUT_S
        try:
            while unread and self._clock() < deadline:
                first = reader.poll(COPIES_POLL_S)
                batch = [] if first is None else [first, *reader.consume(COPIES_READ_BATCH, 0)]
                for message in batch:
                    where = (message.topic() or "", message.partition() or 0)
                    if message.error() is not None or where not in unread:
                        continue
                    offset = message.offset() or 0
                    source = dict(message.headers() or []).get(SOURCE_OFFSET_HEADER)
                    copies[where].append((offset, None if source is None else int(source)))
                    if offset >= spans[where][1] - 1:
                        unread.discard(where)
        finally:
            reader.unassign()
        return {where: read for where, read in copies.items() if where not in unread}

    def _open(self) -> Consumer:
        self._consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"turnout.mirror.migration.{self._mirror}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
                **self._properties,
            }
        )
        return self._consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
