"""What the switch watcher sees of a switch in ZooKeeper, as pure functions.

- :func:`observe_owners`: the owner nodes of the live binding's group → an
  :class:`~turnout.controlplane.domain.switch_machine.Observation` (how many live
  partitions the old colour still owns, how many the new colour owns at the switch's
  epoch or newer).
- :func:`superseded_reason`: the directive now in ZooKeeper → why the switch can no
  longer complete (the directive was deleted, or a newer one makes another colour live),
  or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from turnout.controlplane.domain.switch_machine import Observation
from turnout.protocol import Colour, Directive, Ownership
from turnout.protocol.partitions import PartitionId, parse_partition_key, partition_key


def observe_owners(
    owners: Mapping[str, Ownership],
    *,
    in_binding: Callable[[str], bool],
    partitions: list[PartitionId] | None,
    from_colour: Colour,
    to_colour: Colour,
    epoch: int,
) -> Observation:
    """Count the owners of the live binding's partitions.

    ``owners`` maps ``"topic/partition"`` to its owner node. ``partitions`` is every live
    partition, or None when Kafka could not list them: then the partitions that have an
    owner node in a topic of the binding (``in_binding``) are counted, and the total
    stays unknown (never claimed).
    """
    keys = (
        {partition_key(*tp) for tp in partitions}
        if partitions is not None
        else {key for key in owners if in_binding(parse_partition_key(key)[0])}
    )
    live = [owner for key, owner in owners.items() if key in keys]
    return Observation(
        total_partitions=None if partitions is None else len(partitions),
        owned_by_old=sum(1 for owner in live if owner.colour is from_colour),
        owned_by_new=sum(1 for owner in live if owner.colour is to_colour and owner.epoch >= epoch),
    )


def superseded_reason(
    current: Directive | None, *, switch_epoch: int | None, to_colour: Colour
) -> str | None:
    """Why a switch to ``to_colour`` written at ``switch_epoch`` cannot complete, or None."""
    if current is None:
        return "the directive was deleted from ZooKeeper"
    if (
        switch_epoch is not None
        and current.epoch >= switch_epoch
        and current.live_colour is not to_colour
    ):
        return (
            f"the directive of epoch {current.epoch} makes "
            f"{current.live_colour.value} live: the switch was superseded"
        )
    return None
