"""What the group committed for a single-partition ``World``, as the work tests compare it."""

from __future__ import annotations

from bench.assign_loop import read_committed
from tests.support.agent_kit import World


def committed(world: World) -> tuple[int, tuple[int, ...]] | None:
    """(next offset, offsets done past it) of partition 0, or None before any commit."""
    found = read_committed(world.kafka, world.group, [(world.topic, 0)])
    if (world.topic, 0) not in found:
        return None
    offset, metadata = found[(world.topic, 0)]
    return offset, metadata.done if metadata else ()
