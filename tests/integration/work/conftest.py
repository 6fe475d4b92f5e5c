"""Fixtures for the work manager's tests inside the real agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.agent_kit import World
from tests.support.services import Services


@pytest.fixture
def make_world(
    services: Services,
    zk_root: str,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[Callable[[int], World]]:
    """``make_world(partitions)``: a topic of that many partitions, one group, one
    deployment in a ZooKeeper chroot of the test's own; every agent the test started is
    stopped at the end."""
    made: list[World] = []

    def make(partitions: int) -> World:
        world = World(
            zk_root, services.kafka, topic_factory(partitions), unique("group"), partitions,
            tmp_path,
        )  # fmt: skip
        made.append(world)
        return world

    try:
        yield make
    finally:
        for world in made:
            world.close()


@pytest.fixture
def the_world(make_world: Callable[[int], World]) -> World:
    """A single-partition world."""
    return make_world(1)


@pytest.fixture
def two_partition_world(make_world: Callable[[int], World]) -> World:
    """A two-partition world: a test watches partition 0 while partition 1's commits show
    that the agent is committing."""
    return make_world(2)
