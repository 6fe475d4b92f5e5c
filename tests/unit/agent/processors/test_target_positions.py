"""Where an exactly-once processor with an output target keeps its positions: keyed by
the partition its outputs go to, in a positions group named after the live group."""

from __future__ import annotations

from dataclasses import dataclass

from turnout.agent.dispatch import KafkaGroup
from turnout.agent.processors.output_target import OutputTarget
from turnout.agent.processors.target_positions import (
    TargetPositions,
    input_position,
    positions_group,
)
from turnout.protocol.models import Role


@dataclass
class PrefixRoutes:
    """Routes naming each input topic's output ``a.<topic>``, LIVE only."""

    def topic(self, output: str, role: Role | None) -> str:
        assert role is Role.LIVE
        return f"a.{output}"

    def topics(self, role: Role) -> frozenset[str]:
        return frozenset()


def _source(group: str | None) -> KafkaGroup:
    return KafkaGroup(
        deployment="orders-mirror",
        group=lambda: group,
        metadata=object,
        committed=lambda tp: None,
        lease_s=9.0,
        offsets_in_kafka=True,
    )


def test_a_position_is_keyed_by_the_target_partition_and_holds_the_next_source_offset() -> None:
    positions = TargetPositions(OutputTarget("127.0.0.1:1", PrefixRoutes()), _source("live"))
    stored = positions.position(("orders", 3), 42)
    assert (stored.topic, stored.partition, stored.offset) == ("a.orders", 3, 42)
    assert positions.stored_at(("orders", 3)) == ("a.orders", 3)


def test_the_positions_group_is_named_after_the_live_group_and_none_without_one() -> None:
    target = OutputTarget("127.0.0.1:1", PrefixRoutes())
    assert TargetPositions(target, _source("live")).group() == positions_group("live")
    assert positions_group("live") == "turnout.positions.live"
    assert TargetPositions(target, _source(None)).group() is None
    group = TargetPositions(target, _source("live")).kafka_group()
    assert group.group() == "turnout.positions.live"
    assert group.lease_s == 9.0


def test_without_a_target_the_position_is_the_input_partition_itself() -> None:
    stored = input_position(("orders", 3), 42)
    assert (stored.topic, stored.partition, stored.offset) == ("orders", 3, 42)


def test_each_positions_groups_metadata_is_read_once_per_group() -> None:
    # The consumer connects lazily: its group's metadata is local state, nothing is sent.
    held = ["live"]
    source = KafkaGroup(
        deployment="orders-mirror",
        group=lambda: held[0],
        metadata=object,
        committed=lambda tp: None,
        lease_s=9.0,
        offsets_in_kafka=True,
    )
    positions = TargetPositions(OutputTarget("127.0.0.1:1", PrefixRoutes()), source)
    try:
        first = positions.metadata()
        assert positions.metadata() is first
        assert b"turnout.positions.live" in first  # type: ignore[operator]
        held[0] = "next"
        other = positions.metadata()
        assert other is not first and b"turnout.positions.next" in other  # type: ignore[operator]
    finally:
        positions.close()
