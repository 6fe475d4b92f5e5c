"""Where a copy came from, read back from the mirror's coordinate headers (written with
``coordinate_headers``: ``copier.copy_of``). Pure.

A consumer of the copies that wants a record's identity on the source (a history
checked across both clusters, a log that names source offsets) reads it here.
"""

from __future__ import annotations

from turnout.agent.records import Record
from turnout.mirror.copier import SOURCE_OFFSET_HEADER, SOURCE_PARTITION_HEADER


def source_offset(record: Record) -> int | None:
    """The source offset ``record`` is a copy of; None for a record without the
    coordinate headers, or one copied from another partition number (the mirror keeps
    partitions, so that is not a copy of this partition's source)."""
    headers = dict(record.headers)
    offset, partition = headers.get(SOURCE_OFFSET_HEADER), headers.get(SOURCE_PARTITION_HEADER)
    if offset is None or partition is None or int(partition) != record.partition:
        return None
    return int(offset)


def as_source_record(record: Record, offset: int) -> Record:
    """``record`` as the handler would see it at source offset ``offset``."""
    return Record(
        record.topic,
        record.partition,
        offset,
        record.key,
        record.value,
        record.headers,
        record.timestamp_ms,
        record.epoch,
    )
