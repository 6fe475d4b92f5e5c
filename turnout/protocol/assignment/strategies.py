"""The stateless strategies: range and round-robin.

Both take members already sorted and deduplicated, and partitions already deduplicated;
``compute_assignment`` does that, so every strategy sees its input in one canonical order
and the result does not depend on the order the caller listed things in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from turnout.protocol.partitions import PartitionId


def split_evenly(count: int, members: int) -> list[int]:
    """How many of ``count`` items each of ``members`` gets: the first ``count % members``
    get one more than the rest (Kafka's and go_kafka_client's range split)."""
    base, extra = divmod(count, members)
    return [base + 1 if index < extra else base for index in range(members)]


def range_assign(
    members: Sequence[str], partitions: Iterable[PartitionId]
) -> dict[PartitionId, str]:
    """Kafka's range assignor, per topic.

    For each topic, its partitions in numeric order are cut into contiguous runs over the
    sorted members; the first ``P % C`` members get one partition more. Topics are split
    independently, so with many topics whose partition count is not a multiple of the
    member count the first members carry the extras of every topic (as in Kafka).
    """
    by_topic: defaultdict[str, list[int]] = defaultdict(list)
    for topic, partition in partitions:
        by_topic[topic].append(partition)
    owners: dict[PartitionId, str] = {}
    for topic in sorted(by_topic):
        numbers = sorted(by_topic[topic])
        start = 0
        for member, size in zip(members, split_evenly(len(numbers), len(members)), strict=True):
            for number in numbers[start : start + size]:
                owners[(topic, number)] = member
            start += size
    return owners


def round_robin_assign(
    members: Sequence[str], partitions: Iterable[PartitionId]
) -> dict[PartitionId, str]:
    """Deal all (topic, partition) pairs, sorted, over the sorted members in a circle.

    go_kafka_client sorted the partitions by an FNV-1a hash of a formatted string before
    dealing, which scatters a topic's partitions pseudo-randomly and depends on Go's
    formatting; sorting by (topic, partition) gives the same balance (counts differ by at
    most one across members) with an order anyone can predict by hand.
    """
    ordered = sorted(partitions)
    return {tp: members[index % len(members)] for index, tp in enumerate(ordered)}
