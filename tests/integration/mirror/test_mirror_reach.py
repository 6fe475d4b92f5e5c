"""The mirror follows its sources on two real clusters: partitions added to a source
topic are added to its target, the target's configs are kept in step with the source's
(a deny list and the target's own configs respected); and bad input is a clear error in
the agent's status with nothing lost: an unreachable target cluster, an unknown source
topic."""

from __future__ import annotations

from pathlib import Path

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import (
    add_partitions,
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
    set_topic_configs,
    spawn_mirror,
    start_mirror,
    topic_config,
)
from tests.support.services import Services
from turnout.devstack.process import free_port

#: Copying a few thousand records between two local brokers takes seconds; a 2-core
#: machine shared with other test sessions needs more.
MIRRORED_TIMEOUT_S = 120.0
#: The agent reads partition counts every few seconds and the mirror's admin calls time
#: out within seconds: an error shows in the status well within this.
ERROR_SHOWN_TIMEOUT_S = 90.0
#: The source topic's partitions (the ``mirror_world`` fixture reads it).
SOURCE_PARTITIONS = 8
#: The tests' config-sync interval: short, so that a change shows within seconds.
SYNC_INTERVAL_S = 1.0


def _target(services: Services) -> str:
    assert services.second_kafka is not None
    return services.second_kafka


def _await_mirrored(services: Services, source: str, target: str, count: int) -> None:
    wait_until(
        lambda: record_count(_target(services), target) >= count,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(_target(services), target)} of {count} records mirrored",
    )


def test_partitions_added_to_a_source_topic_are_added_to_its_target_and_mirrored(
    two_clusters: Services, mirror_world: World
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(two_clusters.kafka, source, 4)
    produce_keyed(two_clusters.kafka, source, 400)
    mirror_world.create_directive()
    start_mirror(mirror_world, "m-1", _target(two_clusters), source_alias="a")
    _await_mirrored(two_clusters, source, target, 400)

    add_partitions(two_clusters.kafka, source, 8)
    produce_keyed(two_clusters.kafka, source, 800, start=400)
    _await_mirrored(two_clusters, source, target, 1200)

    expected = read_topic(two_clusters.kafka, source)
    assert len(expected) == 8, "the new partitions got no records: nothing was tested"
    assert read_topic(_target(two_clusters), target) == expected


def test_the_targets_allowed_configs_follow_the_source_and_its_own_are_left_alone(
    two_clusters: Services, mirror_world: World, tmp_path: Path
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(
        two_clusters.kafka, source, 8, {"retention.ms": "7200000", "max.message.bytes": "500000"}
    )
    produce_keyed(two_clusters.kafka, source, 200)
    mirror_world.create_directive()
    options = ["--config-sync-interval", str(SYNC_INTERVAL_S), "--config-deny", "max.message.bytes"]
    mirror = spawn_mirror(mirror_world, "m-1", _target(two_clusters), tmp_path, *options)
    _await_mirrored(two_clusters, source, target, 200)
    assert topic_config(_target(two_clusters), target, "retention.ms") == "7200000"
    target_default = topic_config(_target(two_clusters), target, "max.message.bytes")
    assert target_default != "500000"  # denied: not copied at creation
    set_topic_configs(_target(two_clusters), target, {"retention.bytes": "1073741824"})

    set_topic_configs(two_clusters.kafka, source, {"retention.ms": "3600000"})
    wait_until(
        lambda: topic_config(_target(two_clusters), target, "retention.ms") == "3600000",
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"target retention.ms {topic_config(_target(two_clusters), target, 'retention.ms')}"
            f"; the mirror's output: {mirror.output()}"
        ),
    )
    assert topic_config(_target(two_clusters), target, "retention.bytes") == "1073741824"
    assert topic_config(_target(two_clusters), target, "max.message.bytes") == target_default


def test_an_unreachable_target_is_an_error_in_status_and_loses_nothing(
    two_clusters: Services, mirror_world: World
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(two_clusters.kafka, source, 8)
    produce_keyed(two_clusters.kafka, source, 400)
    mirror_world.create_directive()
    nowhere = f"127.0.0.1:{free_port()}"
    stranded = start_mirror(mirror_world, "m-1", nowhere, source_alias="a")
    wait_until(
        lambda: any(
            nowhere in error and "did not answer" in error for error in stranded.status().errors
        ),
        ERROR_SHOWN_TIMEOUT_S,
        lambda: f"errors: {stranded.status().errors}",
    )
    assert stranded.stop()

    start_mirror(mirror_world, "m-2", _target(two_clusters), source_alias="a")
    _await_mirrored(two_clusters, source, target, 400)
    assert read_topic(_target(two_clusters), target) == read_topic(two_clusters.kafka, source)


def test_an_unknown_source_topic_is_an_error_in_status(
    two_clusters: Services, mirror_world: World
) -> None:
    mirror_world.create_directive()  # names mirror_world.topic, which was never created
    agent = start_mirror(mirror_world, "m-1", _target(two_clusters), source_alias="a")
    wait_until(
        lambda: any(
            f"topic {mirror_world.topic} not found" in error for error in agent.status().errors
        ),
        ERROR_SHOWN_TIMEOUT_S,
        lambda: f"errors: {agent.status().errors}",
    )
    assert agent.status().owned == ()
