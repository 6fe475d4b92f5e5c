"""The manual strategy: pins, and the range strategy for everything else.

- A partition pinned to a member goes to that member.
- A partition pinned to an instance that is not a member is reported in ``absent_pins``
  and then, by policy, left unowned (``LEAVE_UNOWNED``) or treated as unpinned
  (``FALLBACK``).
- Unpinned partitions (and fallbacks) are split by the range strategy over all members,
  per topic, **ignoring the load the pins put on members**. That is deliberate: the rest
  does not depend on where pins point, so re-pointing a pin from one member to another
  moves exactly that partition and nothing else. The cost is that a member with many pins
  also gets its full range share of the rest; pin everything if that matters.
- Pins naming partitions that do not exist (topic shrank, typo) are ignored here; the
  control plane validates pins when they are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from turnout.protocol import AbsentPinPolicy, PartitionRef
from turnout.protocol.assignment.result import AssignmentResult
from turnout.protocol.assignment.strategies import range_assign
from turnout.protocol.partitions import PartitionId


def parse_pins(pins: Mapping[str, str]) -> dict[PartitionId, str]:
    """A directive's pins (``"<topic>/<partition>"`` -> instance) keyed by partition tuple.

    Raises ``ValueError`` for a malformed key (the directive model already refuses them).
    """
    parsed: dict[PartitionId, str] = {}
    for key, instance in pins.items():
        ref = PartitionRef.parse(key)
        parsed[(ref.topic, ref.partition)] = instance
    return parsed


def manual_assign(
    members: Sequence[str],
    partitions: Sequence[PartitionId],
    pins: Mapping[PartitionId, str],
    absent_pin_policy: AbsentPinPolicy,
) -> AssignmentResult:
    """Pins first, then range over the rest; ``members`` sorted and deduplicated (may be empty)."""
    member_set = set(members)
    owners: dict[PartitionId, str] = {}
    rest: list[PartitionId] = []
    unowned: list[PartitionId] = []
    absent: list[tuple[PartitionId, str]] = []
    for tp in sorted(partitions):
        pinned = pins.get(tp)
        if pinned is None:
            rest.append(tp)
        elif pinned in member_set:
            owners[tp] = pinned
        else:
            absent.append((tp, pinned))
            if absent_pin_policy is AbsentPinPolicy.LEAVE_UNOWNED:
                unowned.append(tp)
            else:
                rest.append(tp)
    if members:
        owners.update(range_assign(members, rest))
    else:
        unowned.extend(rest)
    return AssignmentResult(
        owners=dict(sorted(owners.items())),
        unowned=tuple(sorted(unowned)),
        absent_pins=tuple(absent),
    )
