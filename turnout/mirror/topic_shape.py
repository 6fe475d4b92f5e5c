"""What the mirror decides about a target topic, from what the two clusters say. Pure.

- The target is created with the source's partition count and those of the source's
  topic-level configs that ``CONFIG_ALLOW_LIST`` names (what shapes retention, compaction
  and timestamps; never placement such as replication, which is the target cluster's).
- A target with fewer partitions than its source cannot hold each record at its source
  partition: found so when the mirror first looks at it, that is an error
  (``PartitionMismatchError``), never a silent re-partition. Once the mirror has seen the
  target hold every source partition, partitions added to the source later are added to
  the target (``partitions_to_add``). A target with more partitions holds them all; the
  extra ones stay empty.
- Kept in sync: the source's own allowed configs, minus a deny list, that the target
  does not have with the same value (``config_changes``); a target config the source
  never set is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from turnout.agent.work.outcomes import PermanentFailure

#: The topic configs copied to a target topic when the mirror creates it.
CONFIG_ALLOW_LIST = frozenset(
    {
        "cleanup.policy",
        "compression.type",
        "delete.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.timestamp.after.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.ms",
    }
)


class PartitionMismatchError(PermanentFailure):
    """The target topic has fewer partitions than its source: nothing is written to it
    until an operator adds partitions to it (or deletes it for the mirror to recreate)."""


class SourceTopicMissingError(PermanentFailure):
    """The source topic's metadata is not there (deleted while mirrored)."""


def copied_configs(
    source_configs: Mapping[str, str],
    allow: frozenset[str] = CONFIG_ALLOW_LIST,
    deny: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The source topic's own configs (set on the topic, not inherited) that are copied:
    allowed and not denied."""
    return {
        name: value for name, value in source_configs.items() if name in allow and name not in deny
    }


def config_changes(
    source_configs: Mapping[str, str],
    target_configs: Mapping[str, str | None],
    allow: frozenset[str] = CONFIG_ALLOW_LIST,
    deny: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """What to set on the target so that it has the source's copied configs: those whose
    target value (its own or inherited) differs. Nothing is ever removed from the target."""
    return {
        name: value
        for name, value in copied_configs(source_configs, allow, deny).items()
        if target_configs.get(name) != value
    }


def partitions_to_add(
    source: str, target: str, source_count: int, target_count: int, held_before: bool
) -> int:
    """How many partitions to add to ``target``: none when it holds every source
    partition; the shortfall when it held all the source had before (partitions were
    added to the source since); else :class:`PartitionMismatchError`."""
    if target_count >= source_count:
        return 0
    if held_before:
        return source_count - target_count
    check_partitions(source, target, source_count, target_count)
    return 0  # not reached: check_partitions raised


def check_partitions(source: str, target: str, source_count: int, target_count: int) -> None:
    """Raise :class:`PartitionMismatchError` unless ``target`` holds every partition of
    ``source``."""
    if target_count < source_count:
        raise PartitionMismatchError(
            f"target topic {target!r} has {target_count} partitions, fewer than the "
            f"{source_count} of source topic {source!r}: nothing is mirrored to it until it "
            "has at least as many"
        )
