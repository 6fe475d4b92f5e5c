"""A migrating colour's environment refuses an offset store that would bypass the
translation (the check runs before any Kafka client is built)."""

from __future__ import annotations

import pytest

from turnout.agent import AgentConfig
from turnout.mirror.migration import Migration, migration_environment
from turnout.protocol import Colour
from turnout.protocol.crossing import MirrorSide


def test_a_migrating_colour_with_offsets_in_zookeeper_is_refused() -> None:
    config = AgentConfig(
        deployment="billing", colour=Colour.GREEN, instance="green-1", offset_store="zookeeper"
    )
    environment = migration_environment(Migration("orders-mirror", MirrorSide.COPIES, "a:9092"))
    with pytest.raises(ValueError, match="offset_store kafka"):
        environment.new_source(config, "billing")
