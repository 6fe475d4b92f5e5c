"""``compute_assignment``: the one entry point every instance and the control plane call.

Every instance of the owning colour evaluates it on the same inputs (directive strategy
and pins, sorted live members, the binding's partitions) and must get the same answer
without talking to the others, so it is a pure function of its inputs: members and
partitions are deduplicated and sorted before any strategy sees them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import assert_never

from turnout.protocol import AbsentPinPolicy, Strategy
from turnout.protocol.assignment.manual import manual_assign
from turnout.protocol.assignment.result import AssignmentResult
from turnout.protocol.assignment.sticky import sticky_assign
from turnout.protocol.assignment.strategies import range_assign, round_robin_assign
from turnout.protocol.partitions import PartitionId


def compute_assignment(
    strategy: Strategy,
    members: Sequence[str],
    partitions: Sequence[PartitionId],
    *,
    previous: Mapping[PartitionId, str] | None = None,
    pins: Mapping[PartitionId, str] | None = None,
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED,
) -> AssignmentResult:
    """Decide the owner of every partition of a binding.

    ``members`` are the live instances of the colour that owns the binding, in any order;
    ``partitions`` all partitions of the binding's topics, in any order (duplicates in
    either are ignored). ``previous`` is used only by ``STICKY``; ``pins`` and
    ``absent_pin_policy`` only by ``MANUAL``. With no members every partition is unowned
    (not an error: the colour may simply have no instance running yet).

    Strategies (see their modules for the exact rules):
    - ``RANGE``: per topic, contiguous runs of partitions over sorted members (Kafka's).
    - ``ROUND_ROBIN``: all (topic, partition) in sorted order dealt over sorted members.
    - ``STICKY``: balanced, and moves the fewest partitions relative to ``previous``.
    - ``MANUAL``: pins, plus ``RANGE`` over the unpinned partitions (pin load ignored).
    """
    sorted_members = sorted(set(members))
    unique = sorted(set(partitions))
    if strategy is Strategy.MANUAL:
        return manual_assign(sorted_members, unique, pins or {}, absent_pin_policy)
    if not sorted_members:
        return AssignmentResult(owners={}, unowned=tuple(unique), absent_pins=())
    if strategy is Strategy.RANGE:
        owners = range_assign(sorted_members, unique)
    elif strategy is Strategy.ROUND_ROBIN:
        owners = round_robin_assign(sorted_members, unique)
    elif strategy is Strategy.STICKY:
        owners = sticky_assign(sorted_members, unique, previous or {})
    else:
        assert_never(strategy)
    return AssignmentResult(owners=dict(sorted(owners.items())), unowned=(), absent_pins=())
