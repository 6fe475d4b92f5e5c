"""The processors benchmark's judgement of an output topic: every input id's output exactly
once, and in per-key order.

``judge`` is pure: it takes the outputs as read (partition, key, id, producer) in the
order of each partition's offsets. ``read_outputs`` reads an output topic to its end
with ``isolation.level=read_committed`` (an aborted or still-open transaction's records
are not outputs).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.processors_data import ADDED_FIELD, PARTITIONS

#: Reading a million outputs takes seconds; a read this long has failed.
READ_TIMEOUT_S = 300.0
READ_BATCH = 10_000
READ_POLL_S = 0.2
#: How many example ids a report keeps of each anomaly.
EXAMPLES = 10


class Output(NamedTuple):
    partition: int
    key: str
    id: int
    processed_by: str


@dataclass(frozen=True)
class OutputReport:
    #: Outputs read, and distinct input ids among them.
    outputs: int
    distinct: int
    #: Input ids (of ``0 .. records - 1``) with no output.
    lost: int
    #: Outputs beyond the first of an id.
    duplicates: int
    #: Outputs whose id was never an input.
    unexpected: int
    #: Outputs whose id is lower than the previous output of the same key.
    out_of_order: int
    #: Outputs per value of the added field (which side or colour produced them).
    by_producer: dict[str, int] = field(default_factory=dict)
    lost_examples: list[int] = field(default_factory=list)
    duplicate_examples: list[int] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Every input's output exactly once, in per-key order."""
        return not (self.lost or self.duplicates or self.unexpected or self.out_of_order)


def judge(records: int, outputs: Iterable[Output]) -> OutputReport:
    """Judge ``outputs`` against inputs ``0 .. records - 1``."""
    copies: Counter[int] = Counter()
    producers: Counter[str] = Counter()
    last_of_key: dict[str, int] = {}
    total = out_of_order = 0
    for output in outputs:
        total += 1
        copies[output.id] += 1
        producers[output.processed_by] += 1
        previous = last_of_key.get(output.key)
        if previous is not None and output.id < previous:
            out_of_order += 1
        last_of_key[output.key] = output.id
    unexpected = sum(n for i, n in copies.items() if not 0 <= i < records)
    expected = [i for i in copies if 0 <= i < records]
    lost_ids = (i for i in range(records) if i not in copies)
    lost = records - len(expected)
    duplicated = [i for i in expected if copies[i] > 1]
    return OutputReport(
        outputs=total,
        distinct=len(copies),
        lost=lost,
        duplicates=sum(copies[i] - 1 for i in duplicated),
        unexpected=unexpected,
        out_of_order=out_of_order,
        by_producer=dict(producers),
        lost_examples=[i for _, i in zip(range(EXAMPLES), lost_ids, strict=False)],
        duplicate_examples=sorted(duplicated)[:EXAMPLES],
    )


def parse_output(partition: int, value: bytes) -> Output:
    document = json.loads(value)
    return Output(partition, document["key"], document["id"], document.get(ADDED_FIELD, ""))


def read_outputs(bootstrap: str, topic: str) -> list[Output]:
    """Every committed output of ``topic``, per partition in offset order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-processors-verify",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        outputs: list[Output] = []
        at_end: set[int] = set()
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(at_end) < PARTITIONS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"reading {topic} did not reach its end")
            for message in consumer.consume(READ_BATCH, READ_POLL_S):
                partition = message.partition()
                assert partition is not None
                error = message.error()
                if error is not None:
                    if error.code() == error._PARTITION_EOF:
                        at_end.add(partition)
                        continue
                    raise RuntimeError(f"reading {topic}: {error}")
                at_end.discard(partition)
                outputs.append(parse_output(partition, message.value() or b""))
        return outputs
    finally:
        consumer.close()
