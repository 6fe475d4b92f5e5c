"""Judging a processor's output topic: each input's outputs exactly once, in per-key order.

``judge_outputs`` is pure: the inputs (id and key, in the order they were produced) and
the outputs as a ``read_committed`` reader found them (the input id each output names,
and its key, in the order read per output partition). ``read_outputs`` is the reader
(``read_committed_records`` under it, for callers that need whole messages: headers).

Per-key order: outputs of one key are written to one output partition (the key decides
it), so reading that partition in offset order must give the key's input ids ascending.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from confluent_kafka import Consumer, Message, TopicPartition

from turnout.verify.report import MAX_EXAMPLES

#: A reader stops once it found nothing new for this long after reaching the end.
READ_IDLE_S = 1.0
#: And in any case after this long.
READ_LIMIT_S = 60.0


@dataclass(frozen=True)
class OutputReport:
    """What ``judge_outputs`` found; ``ok`` when nothing is missing, repeated or reordered."""

    inputs: int
    outputs: int
    missing: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    #: Keys whose outputs came in an order other than their inputs'.
    reordered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unknown or self.reordered)


def judge_outputs(
    inputs: Iterable[int],
    outputs: Sequence[tuple[str, int]],
    *,
    expected_per_input: int = 1,
) -> OutputReport:
    """``outputs``: (key, input id) in read order (per output partition, concatenated)."""
    wanted = set(inputs)
    counts = Counter(input_id for _, input_id in outputs)
    missing = sorted(i for i in wanted if counts[i] < expected_per_input)
    duplicated = sorted(i for i, n in counts.items() if i in wanted and n > expected_per_input)
    unknown = sorted(i for i in counts if i not in wanted)
    last: dict[str, int] = {}
    reordered: set[str] = set()
    for key, input_id in outputs:
        if input_id < last.get(key, -1):
            reordered.add(key)
        last[key] = max(input_id, last.get(key, -1))
    return OutputReport(
        inputs=len(wanted),
        outputs=len(outputs),
        missing=missing[:MAX_EXAMPLES],
        duplicated=duplicated[:MAX_EXAMPLES],
        unknown=unknown[:MAX_EXAMPLES],
        reordered=sorted(reordered)[:MAX_EXAMPLES],
    )


def read_outputs(
    bootstrap: str,
    topic: str,
    parse: Callable[[bytes | None, bytes | None], tuple[str, int]],
    *,
    limit_s: float = READ_LIMIT_S,
) -> list[tuple[str, int]]:
    """Every committed record of ``topic`` (``read_committed``), partition by partition
    in offset order, as ``parse(key, value)`` makes them."""
    return read_committed_records(
        bootstrap, topic, lambda message: parse(message.key(), message.value()), limit_s=limit_s
    )


T = TypeVar("T")


def read_committed_records(
    bootstrap: str,
    topic: str,
    parse: Callable[[Message], T],
    *,
    limit_s: float = READ_LIMIT_S,
) -> list[T]:
    """Every committed record of ``topic`` (``read_committed``), partition by partition
    in offset order, as ``parse(message)`` makes them."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"turnout-verify-{topic}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10.0).topics[topic].partitions
        tps = [TopicPartition(topic, p, 0) for p in partitions]
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)[1]
            for p in partitions
        }
        consumer.assign(tps)
        found: dict[int, list[T]] = defaultdict(list)
        position: dict[int, int] = {}
        deadline = time.monotonic() + limit_s
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            messages = consumer.consume(500, 0.2)
            for message in messages:
                partition, offset = message.partition(), message.offset()
                if message.error() is not None or partition is None or offset is None:
                    continue
                found[partition].append(parse(message))
                position[partition] = offset + 1
            if messages:
                idle_since = time.monotonic()
            # Transaction markers take offsets too, so "at the end" is "idle past the
            # last record read": an end the reader never reaches is waited for no longer.
            at_end = all(position.get(p, 0) >= ends[p] - 1 for p in partitions)
            if time.monotonic() - idle_since > (READ_IDLE_S if at_end else READ_IDLE_S * 3):
                break
    finally:
        consumer.close()
    return [item for p in sorted(found) for item in found[p]]
