"""What the group committed for a ``World``, as the work tests compare it."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.assign_loop import read_committed
from tests.support.agent_kit import World
from tests.support.kafka_records import produce

Commit = tuple[int, tuple[int, ...]]
#: How often ``commits_through_waves`` reads the committed offsets: well inside the
#: agents' commit interval (0.5 s).
WATCH_EVERY_S = 0.05


def committed(world: World, partition: int = 0) -> Commit | None:
    """(next offset, offsets done past it) of ``partition``, or None before any commit."""
    tp = (world.topic, partition)
    found = read_committed(world.kafka, world.group, [tp])
    if tp not in found:
        return None
    offset, metadata = found[tp]
    return offset, metadata.done if metadata else ()


def commits_through_waves(
    world: World,
    *,
    first: int,
    waves: int,
    wave_size: int,
    until: Callable[[int], bool],
    timeout_s: float,
) -> list[Commit | None]:
    """For a two-partition ``world`` whose partition 1 only ever succeeds: produce
    ``waves`` waves of ``wave_size`` more records to each partition (the first new offset
    of each is ``first``); after each wave, wait until partition 1 committed all of it
    (the agent commits, wave after wave) and until ``until(end)``, ``end`` being the
    offset after the wave. Returns partition 0's commit at every look meanwhile."""
    seen: list[Commit | None] = []
    end = first
    for _ in range(waves):
        produce(world.kafka, world.topic, 2 * wave_size, partitions=2)
        end += wave_size
        deadline = time.monotonic() + timeout_s
        while True:
            seen.append(committed(world, 0))
            if committed(world, 1) == (end, ()) and until(end):
                break
            assert time.monotonic() < deadline, (
                f"partition 1 committed {committed(world, 1)}, partition 0 {seen[-1]}; "
                f"the wave up to {end} was not done"
            )
            time.sleep(WATCH_EVERY_S)
    return seen
