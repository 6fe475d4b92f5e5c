"""The sticky strategy: balanced, and moving as few partitions as balance allows.

Let P be the number of partitions, C the number of members, ``base, extra = divmod(P, C)``.
*Balanced* means every member owns ``base`` or ``base + 1`` partitions (so exactly
``extra`` members own ``base + 1``). Among balanced assignments this one keeps the most
partitions with their previous owner, i.e. moves the fewest:

1. Let ``k[m]`` be how many partitions member ``m`` owned before (previous owners that are
   no longer members, and partitions nobody owned, count for nobody).
2. Quotas: the ``extra`` bigger quotas go first to members with ``k[m] > base`` (each of
   those keeps one more partition thanks to it), then to the rest; ties by name.
3. Every member keeps up to its quota of its previous partitions (the lowest ones, sorted
   by (topic, partition)); everything else is *free*.
4. Free partitions, in (topic, partition) order, each go to the member with room left that
   currently owns the fewest, ties by name.

Optimality: any balanced assignment keeps at most ``min(k[m], quota[m])`` partitions with
member ``m``, and ``sum(min(k[m], quota[m]))`` over valid quota vectors is largest at
``sum(min(k[m], base)) + min(extra, #{m : k[m] > base})``, which step 2 reaches. So the
number of moved partitions is ``P`` minus that, the least possible.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from turnout.protocol.partitions import PartitionId


def max_kept(previous_counts: Sequence[int], partitions: int) -> int:
    """The most partitions a balanced assignment can leave with their previous owners.

    ``previous_counts`` has one entry per current member: how many of the partitions it
    owned before (0 for a new member). See the module docstring for the derivation.
    """
    if not previous_counts:
        return 0
    base, extra = divmod(partitions, len(previous_counts))
    over_base = sum(1 for count in previous_counts if count > base)
    return sum(min(count, base) for count in previous_counts) + min(extra, over_base)


def sticky_assign(
    members: Sequence[str], partitions: Sequence[PartitionId], previous: Mapping[PartitionId, str]
) -> dict[PartitionId, str]:
    """Balanced assignment with the fewest moves relative to ``previous``.

    ``members`` must be sorted, deduplicated and non-empty; ``partitions`` deduplicated.
    """
    ordered = sorted(partitions)
    held: dict[str, list[PartitionId]] = {member: [] for member in members}
    for tp in ordered:
        owner = previous.get(tp)
        if owner is not None and owner in held:
            held[owner].append(tp)

    base, extra = divmod(len(ordered), len(members))
    by_claim = sorted(members, key=lambda member: (len(held[member]) <= base, member))
    bigger = set(by_claim[:extra])
    quota = {member: base + 1 if member in bigger else base for member in members}

    owners: dict[PartitionId, str] = {}
    for member in members:
        for tp in held[member][: quota[member]]:
            owners[tp] = member

    # (current count, name): the member owning the fewest, then the first by name.
    room = [(len(held[m][: quota[m]]), m) for m in members if len(held[m]) < quota[m]]
    heapq.heapify(room)
    for tp in ordered:
        if tp in owners:
            continue
        count, member = heapq.heappop(room)
        owners[tp] = member
        if count + 1 < quota[member]:
            heapq.heappush(room, (count + 1, member))
    return owners
