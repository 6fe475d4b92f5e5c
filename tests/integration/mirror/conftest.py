"""The mirror tests' deployment: one source topic in the test's own ZooKeeper chroot, on
the two-cluster stack's first cluster. A test module sets ``SOURCE_PARTITIONS`` for
another partition count than the default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.agent_kit import World, world
from tests.support.migration_kit import MigrationWorld, migration_world
from tests.support.mirror_positions_kit import PARTITIONS
from tests.support.services import Services, unique_name, zk_chroot

#: Source partitions of a mirror test's topic unless its module says otherwise.
DEFAULT_SOURCE_PARTITIONS = 16


@contextmanager
def _world_of(
    services: Services, request: pytest.FixtureRequest, tmp_path: Path, partitions: int
) -> Iterator[World]:
    topic = unique_name("src")
    with (
        zk_chroot(services.zookeeper, f"t-{request.node.name}") as root,
        world(root, services.kafka, topic, unique_name("mirror"), partitions, tmp_path) as w,
    ):
        yield w


@pytest.fixture
def mirror_world(
    two_clusters: Services, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    partitions = getattr(request.module, "SOURCE_PARTITIONS", DEFAULT_SOURCE_PARTITIONS)
    with _world_of(two_clusters, request, tmp_path, partitions) as w:
        yield w


@pytest.fixture
def positions_world(
    two_clusters: Services, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    with _world_of(two_clusters, request, tmp_path, PARTITIONS) as w:
        yield w


@pytest.fixture
def mw(
    two_clusters: Services, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[MigrationWorld]:
    """A consumer deployment on cluster A and the mirror of its topic to B (the migration
    tests'), with the module's ``SOURCE_PARTITIONS`` or the default."""
    partitions = getattr(request.module, "SOURCE_PARTITIONS", DEFAULT_SOURCE_PARTITIONS)
    with migration_world(two_clusters, request.node.name, tmp_path, partitions) as w:
        yield w
