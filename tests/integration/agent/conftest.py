"""Fixtures of the agent's integration tests: a ``World`` per test (see agent_kit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.agent_kit import World
from tests.support.services import Services


@pytest.fixture(params=["kafka", "zookeeper"])
def offset_store(request: pytest.FixtureRequest) -> str:
    """Every test taking this runs against both offset backends."""
    return str(request.param)


@pytest.fixture
def make_world(
    zk_root: str,
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[Callable[..., World]]:
    worlds: list[World] = []

    def make(
        partitions: int = 4, offset_store: str = "kafka", zookeeper: str | None = None
    ) -> World:
        world = World(
            zookeeper=zookeeper or zk_root,
            kafka=services.kafka,
            topic=topic_factory(partitions),
            group=unique("g"),
            partitions=partitions,
            log_dir=tmp_path / f"world-{len(worlds)}",
            offset_store=offset_store,
        )
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()
