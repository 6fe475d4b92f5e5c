"""A partition's identity, and its ``"<topic>/<partition>"`` text form.

Both sides key JSON objects by partition (pins, owner maps, lag tables), so the text
form is part of the contract: topic names may contain ``/``, so parsing splits at the
last one.
"""

from __future__ import annotations

#: (topic, partition): a plain tuple, because it is on the per-record hot path.
PartitionId = tuple[str, int]


def partition_key(topic: str, partition: int) -> str:
    """``"<topic>/<partition>"``: the text form used as a JSON object key."""
    return f"{topic}/{partition}"


def parse_partition_key(key: str) -> PartitionId:
    """The inverse of :func:`partition_key`; a malformed key raises ``ValueError``."""
    topic, _, number = key.rpartition("/")
    if not topic or not number.isdigit():
        raise ValueError(f"partition {key!r} must look like '<topic>/<partition number>'")
    return topic, int(number)
