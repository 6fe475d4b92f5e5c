"""Cutting a poll's messages into runs of one partition, and a run into new records.

Pure functions on the consume path: they run once per poll and once per run, never once
per record in Python (C-level ``map``, ``count`` and ``groupby`` read the messages).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import groupby

from confluent_kafka import Message

from turnout.agent.records import RecordRun
from turnout.protocol.partitions import PartitionId

_partition_of = Message.partition
_offset_of = Message.offset


def topic_partition_of(message: Message) -> tuple[str | None, int | None]:
    return message.topic(), message.partition()


def partition_runs(messages: list[Message]) -> Iterator[tuple[int, list[Message]]]:
    """Split one topic's polled messages into runs of one partition, in poll order (a
    fetch returns each partition's records together, in offset order; a partition may
    come back later in the same poll). Per record this reads only the partition: most
    polls are a single partition's run (librdkafka hands out one fetch response at a
    time), told by one ``count``."""
    partitions: list[int] = list(map(_partition_of, messages))  # type: ignore[arg-type]
    first = partitions[0]
    if partitions.count(first) == len(partitions):
        yield first, messages
        return
    start = 0
    for partition, same in groupby(partitions):
        stop = start + len(list(same))
        yield partition, messages[start:stop]
        start = stop


def run_from(
    messages: list[Message], next_fetch: int, tp: PartitionId, epoch: int
) -> RecordRun | None:
    """The records of a run of ``tp``'s messages (ascending offsets) past ``next_fetch``
    (what was routed before: a seek may fetch some again); None if nothing is new."""
    first: int = messages[0].offset()  # type: ignore[assignment]
    last: int = messages[-1].offset()  # type: ignore[assignment]
    if last < next_fetch:
        return None
    if last - first == len(messages) - 1:
        # Ascending, so consecutive: no list of offsets is needed.
        if first < next_fetch:
            messages = messages[next_fetch - first :]
            first = next_fetch
        return RecordRun.consecutive(messages, first, tp[0], tp[1], epoch)
    # Gaps (compaction, transaction markers): the run keeps its offsets.
    offsets: list[int] = list(map(_offset_of, messages))  # type: ignore[arg-type]
    if first < next_fetch:
        start = bisect_left(offsets, next_fetch)
        messages, offsets = messages[start:], offsets[start:]
    return RecordRun(messages, offsets, tp[0], tp[1], epoch)
