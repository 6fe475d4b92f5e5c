"""The mirror's processor: each source record as an output to the same partition of its
target topic, with its key, value, headers and timestamp.

It is a batch processor (``@processor`` and ``@batch_handler``) run by the processors'
at-least-once runner with the mirror's ``OutputTarget``: a run of one partition's
records is sent to the target cluster in offset order and the run completes only when
the target acknowledged every record, so the source offset committed after it never
passes a record the target does not hold. The producer is idempotent, so retries inside
it neither duplicate nor reorder within a partition; a run retried after a failure is
written again (at least once).

With ``coordinate_headers`` each copy carries where it came from, in three more headers
(``SOURCE_TOPIC_HEADER``, ``SOURCE_PARTITION_HEADER``, ``SOURCE_OFFSET_HEADER``, the
numbers as decimal text), after the record's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from turnout.agent.handlers import batch_handler
from turnout.agent.processors.contract import Output, Outputs, processor
from turnout.agent.records import Record
from turnout.mirror.target_topics import TargetTopics

SOURCE_TOPIC_HEADER = "turnout.mirror.source.topic"
SOURCE_PARTITION_HEADER = "turnout.mirror.source.partition"
SOURCE_OFFSET_HEADER = "turnout.mirror.source.offset"


def copy_of(record: Record, coordinate_headers: bool) -> Output:
    """The output that copies ``record``: to the logical output named after its topic
    (the mirror's routes name the target topic), its partition and its timestamp."""
    headers: list[tuple[str, bytes | str | None]] = list(record.headers)
    if coordinate_headers:
        headers += [
            (SOURCE_TOPIC_HEADER, record.topic),
            (SOURCE_PARTITION_HEADER, str(record.partition)),
            (SOURCE_OFFSET_HEADER, str(record.offset)),
        ]
    # A record without a usable timestamp (-1) is stamped when written (0).
    return Output(
        record.topic,
        record.value,
        key=record.key,
        headers=headers or None,
        partition=record.partition,
        timestamp_ms=max(record.timestamp_ms, 0),
    )


def mirror_processor(
    topics: TargetTopics, *, coordinate_headers: bool = False
) -> Callable[[Sequence[Record], Outputs], list[Output]]:
    """The batch processor copying runs of records (see the module docstring)."""

    @processor
    @batch_handler
    def mirror(records: Sequence[Record], out: Outputs) -> list[Output]:
        del out
        copies = []
        for record in records:
            # Makes the target topic ready for this partition (created, or checked to
            # hold it) before anything of the run is written.
            topics.target_of(record.topic, record.partition)
            copies.append(copy_of(record, coordinate_headers))
        return copies

    return mirror
