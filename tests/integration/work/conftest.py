"""Fixtures for the work manager's tests inside the real agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.agent_kit import World
from tests.support.services import Services


@pytest.fixture
def the_world(
    services: Services,
    zk_root: str,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[World]:
    """One single-partition topic, one group, one deployment in a ZooKeeper chroot of the
    test's own; every agent the test started is stopped at the end."""
    world = World(zk_root, services.kafka, topic_factory(1), unique("group"), 1, tmp_path)
    try:
        yield world
    finally:
        world.close()
