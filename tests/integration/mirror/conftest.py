"""The mirror's position tests' deployment: one keyed source topic of ``PARTITIONS``
partitions in the test's own ZooKeeper chroot, on the two-cluster stack's first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_kit import World, world
from tests.support.mirror_positions_kit import PARTITIONS
from tests.support.services import Services, unique_name, zk_chroot


@pytest.fixture
def positions_world(
    two_clusters: Services, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    topic = unique_name("src")
    with (
        zk_chroot(two_clusters.zookeeper, f"t-{request.node.name}") as root,
        world(root, two_clusters.kafka, topic, unique_name("mirror"), PARTITIONS, tmp_path) as w,
    ):
        yield w
