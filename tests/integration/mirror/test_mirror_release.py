"""A stopped mirror agent lets go of everything it built: no Kafka client of its own
outlives it (a leaked one keeps reconnecting, with its threads and sockets, for the life
of the process that embedded the agent)."""

from __future__ import annotations

import gc

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import create_source_topic, produce_keyed, record_count, start_mirror
from tests.support.services import Services

SOURCE_PARTITIONS = 4
RECORDS = 200
#: Copying a few hundred records after an agent's start, on a shared 2-core machine.
MIRRORED_TIMEOUT_S = 120.0


def live_kafka_clients() -> int:
    gc.collect()
    return sum(isinstance(o, (Consumer, Producer, AdminClient)) for o in gc.get_objects())


def test_a_stopped_mirror_agent_leaves_no_kafka_client_behind(
    two_clusters: Services, mirror_world: World
) -> None:
    assert two_clusters.second_kafka is not None
    target = two_clusters.second_kafka
    create_source_topic(two_clusters.kafka, mirror_world.topic, SOURCE_PARTITIONS)
    produce_keyed(two_clusters.kafka, mirror_world.topic, RECORDS)
    mirror_world.create_directive()
    before = live_kafka_clients()

    start_mirror(mirror_world, "m-1", target, source_alias="a")
    copies = f"a.{mirror_world.topic}"
    wait_until(
        lambda: record_count(target, copies) >= RECORDS,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(target, copies)} of {RECORDS} copied",
    )
    assert live_kafka_clients() > before, "the running mirror shows no client of its own"
    mirror_world.close()
    mirror_world.agents.clear()

    assert live_kafka_clients() == before
