"""What an assignment computation returns, and the difference between two assignments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from turnout.protocol.partitions import PartitionId


@dataclass(frozen=True)
class AssignmentResult:
    """The owner of every partition of a binding under one directive epoch.

    Every partition passed in appears in exactly one of ``owners`` and ``unowned``.
    """

    #: partition -> instance name, for every assigned partition.
    owners: dict[PartitionId, str]
    #: Partitions deliberately left unowned, sorted: all of them when there are no
    #: members, and manual pins to absent instances under ``LEAVE_UNOWNED``.
    unowned: tuple[PartitionId, ...]
    #: (partition, pinned instance) for pins whose instance is not a member, sorted; reported
    #: whatever the absent-pin policy, so the control plane can show them.
    absent_pins: tuple[tuple[PartitionId, str], ...]

    def partitions_of(self, instance: str) -> list[PartitionId]:
        """The partitions ``instance`` owns, sorted."""
        return sorted(tp for tp, owner in self.owners.items() if owner == instance)


class Move(NamedTuple):
    """One partition changing hands; ``None`` means unowned (or not present) on that side."""

    tp: PartitionId
    previous_owner: str | None
    new_owner: str | None


def moves(before: Mapping[PartitionId, str], after: Mapping[PartitionId, str]) -> list[Move]:
    """Every partition whose owner differs between ``before`` and ``after``, sorted by partition.

    A partition present on only one side moves from or to ``None``. A move is what the
    runtime hands off (release by the previous owner, then claim by the new one) and what
    the control plane's plan preview shows.
    """
    changed = [tp for tp in before.keys() | after.keys() if before.get(tp) != after.get(tp)]
    return [Move(tp, before.get(tp), after.get(tp)) for tp in sorted(changed)]
