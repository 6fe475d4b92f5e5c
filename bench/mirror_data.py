"""The mirror benchmark's records and how a copy of them is judged.

Source record ``i`` is ``RECORD_BYTES`` bytes: its identity ``i`` as ``ID_DIGITS`` decimal
digits, then filler; key ``k<i % KEYS>``, partition ``i % PARTITIONS``
(``processors_data.fill``). A mirrored copy carries its identity in its value, so the
target is judged by identity alone: ``lost`` are the identities never seen there,
``duplicates`` the copies beyond the first of each, ``unexpected`` the values that are
no source record's. A copy made in transactions is judged as a ``read_committed`` reader
finds it (an aborted copy is no copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from bench.processors_data import PARTITIONS

RECORD_BYTES = 500
ID_DIGITS = 12
FILLER = b"m" * (RECORD_BYTES - ID_DIGITS)
#: Reading the whole target back: batches of this many records.
READ_BATCH = 10_000
#: The reader's wait for more records once it has all it expects, or when a partition
#: is idle: a local broker answers in milliseconds.
READ_POLL_S = 1.0
#: Reading a million 500-byte records from a local broker takes seconds; this long, and
#: the read has failed.
READ_LIMIT_S = 600.0
#: Watermark queries to a local broker answer in milliseconds.
WATERMARK_TIMEOUT_S = 10.0


def value_of(record_id: int) -> bytes:
    return b"%012d" % record_id + FILLER


@dataclass(frozen=True)
class CopyReport:
    lost: int
    duplicates: int
    unexpected: int
    #: Offsets of the target a reader skipped: transaction markers and aborted copies
    #: (none in a copy made without transactions; at least one per partition written
    #: in a transaction, so it shows a side did write transactionally).
    offsets_skipped: int = 0

    def as_json(self) -> dict[str, int]:
        return {"lost": self.lost, "duplicates": self.duplicates, "unexpected": self.unexpected}


def judge_copy(
    bootstrap: str, topic: str, records: int, read_committed: bool = False
) -> CopyReport:
    """Read every record ``topic`` holds now (up to each partition's end: its high
    watermark, or its last stable offset ``read_committed``) and count the source
    identities ``0 .. records - 1`` in it."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-mirror-judge",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        }
    )
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), WATERMARK_TIMEOUT_S)[1]
            for p in range(PARTITIONS)
        }
        reading = {p for p in ends if ends[p]}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in reading])
        seen = bytearray(records)
        duplicates = unexpected = read = 0
        idle = 0
        while reading:
            messages = consumer.consume(READ_BATCH, READ_POLL_S)
            if not messages:
                idle += 1
                if idle * READ_POLL_S > READ_LIMIT_S:
                    raise RuntimeError(f"reading {topic} stalled in partitions {sorted(reading)}")
                continue
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        reading.discard(message.partition() or 0)
                    continue
                read += 1
                value = message.value() or b""
                head = value[:ID_DIGITS]
                record_id = int(head) if head.isdigit() else -1
                if not 0 <= record_id < records or value[ID_DIGITS:] != FILLER:
                    unexpected += 1
                elif seen[record_id]:
                    duplicates += 1
                else:
                    seen[record_id] = 1
        skipped = sum(ends.values()) - read
        return CopyReport(records - sum(seen), duplicates, unexpected, skipped)
    finally:
        consumer.close()
