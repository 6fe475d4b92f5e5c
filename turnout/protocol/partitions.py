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
    """The inverse of :func:`partition_key`; a malformed key raises ``ValueError``.

    Only the form :func:`partition_key` writes is accepted (ASCII digits, no leading
    zero): ``"t/03"`` would be a second key for partition 3 of ``t``, and a pin map could
    then name two owners for it.
    """
    topic, _, number = key.rpartition("/")
    canonical = number.isascii() and number.isdigit() and (number == "0" or number[0] != "0")
    if not topic or not canonical:
        raise ValueError(f"partition {key!r} must look like '<topic>/<partition number>'")
    return topic, int(number)
