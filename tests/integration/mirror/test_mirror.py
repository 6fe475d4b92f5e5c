"""The mirror on two real clusters: partitions, order, keys, headers and timestamps kept;
nothing lost when a mirror agent is SIGKILLed; a blue/green switch of the mirror under
load leaves every record once in the target; a target topic that cannot hold the
source's partitions refused in the agent's status, with nothing written to it."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import (
    add_partitions,
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
    spawn_mirror,
    start_mirror,
)
from tests.support.served_metrics import served_metric
from tests.support.services import Services, create_topic, unique_name
from turnout.devstack.process import free_port
from turnout.protocol import Binding, Colour, Role

#: Copying a few thousand records between two local brokers takes seconds; a 2-core
#: machine shared with other test sessions needs more.
MIRRORED_TIMEOUT_S = 120.0
#: An admin round trip to a local broker.
ADMIN_TIMEOUT_S = 10.0
#: The switch test's load: 500 keyed records every 0.1 s.
LOAD_CHUNK = 500
LOAD_CHUNK_EVERY_S = 0.1


def _target(services: Services) -> str:
    assert services.second_kafka is not None
    return services.second_kafka


def _topic_config(bootstrap: str, topic: str, name: str) -> str | None:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    entries = admin.describe_configs([resource])[resource].result(ADMIN_TIMEOUT_S)
    return entries[name].value


def test_keyed_load_over_16_partitions_is_mirrored_partition_for_partition(
    two_clusters: Services, mirror_world: World
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(two_clusters.kafka, source, 16, {"retention.ms": "7200000"})
    produce_keyed(two_clusters.kafka, source, 4000)
    mirror_world.create_directive()

    start_mirror(mirror_world, "m-1", _target(two_clusters), source_alias="a")
    wait_until(
        lambda: record_count(_target(two_clusters), target) >= 4000,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(_target(two_clusters), target)} of 4000 records mirrored",
    )

    expected = read_topic(two_clusters.kafka, source)
    mirrored = read_topic(_target(two_clusters), target)
    assert len(expected) == 16
    assert mirrored == expected  # per partition: order, keys, values, headers, timestamps
    assert _topic_config(_target(two_clusters), target, "retention.ms") == "7200000"


def test_a_sigkilled_mirror_agent_loses_nothing_in_the_target(
    two_clusters: Services,
    mirror_world: World,
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    total = 20_000
    create_source_topic(two_clusters.kafka, source, 16)
    produce_keyed(two_clusters.kafka, source, total)
    mirror_world.create_directive()

    first = spawn_mirror(mirror_world, "m-1", _target(two_clusters), tmp_path)
    wait_until(
        lambda: record_count(_target(two_clusters), target) >= total // 10,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"the first mirror copied {record_count(_target(two_clusters), target)}; "
            f"its output: {first.output()}"
        ),
    )
    first.signal(signal.SIGKILL)
    first.kill()
    at_kill = record_count(_target(two_clusters), target)
    assert at_kill < total, "the mirror finished before it was killed: nothing was tested"

    # The second also serves its metrics, as `turnout agent run` does.
    port = free_port()
    second = spawn_mirror(
        mirror_world, "m-2", _target(two_clusters), tmp_path, "--metrics-port", str(port)
    )
    expected = read_topic(two_clusters.kafka, source)
    wanted = {p: Counter(records) for p, records in expected.items()}

    def all_there() -> bool:
        if record_count(_target(two_clusters), target) < total:
            return False
        found = read_topic(_target(two_clusters), target)
        return all(not (wanted[p] - Counter(found.get(p, []))) for p in wanted)

    wait_until(
        all_there,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"{record_count(_target(two_clusters), target)} of {total} in the target; "
            f"the second mirror's output: {second.output()}"
        ),
    )
    mirrored = read_topic(_target(two_clusters), target)
    copied = total - at_kill
    assert served_metric(port, "turnout_agent_records_processed_total") >= copied
    assert served_metric(port, "turnout_producer_acked_total") >= copied
    lost = sum(len(wanted[p] - Counter(mirrored.get(p, []))) for p in wanted)
    duplicates = sum(len(records) for records in mirrored.values()) - total
    record_property("mirrored_at_kill", at_kill)
    record_property("duplicates", duplicates)
    assert lost == 0
    assert duplicates >= 0
    # Each partition's copies are its source records in order, a resumed stretch
    # possibly repeated: the first occurrences keep the source's order.
    for partition, records in expected.items():
        seen: dict[object, None] = dict.fromkeys(mirrored[partition])
        assert list(seen) == records


def test_a_target_topic_with_fewer_partitions_is_held_in_error_while_the_others_flow(
    two_clusters: Services, mirror_world: World
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    healthy = unique_name("src")
    create_source_topic(two_clusters.kafka, source, 16)
    create_source_topic(two_clusters.kafka, healthy, 4)
    create_topic(_target(two_clusters), target, 4)
    produce_keyed(two_clusters.kafka, source, 200)
    produce_keyed(two_clusters.kafka, healthy, 200)
    mirror_world.create_directive()
    mirror_world.update_directive(live=Binding(group=mirror_world.group, topics=(source, healthy)))

    agent = start_mirror(mirror_world, "m-1", _target(two_clusters), source_alias="a")
    wait_until(
        lambda: any("fewer than the 16" in error for error in agent.status().errors),
        MIRRORED_TIMEOUT_S,
        lambda: f"errors: {agent.status().errors}",
    )
    wait_until(
        lambda: record_count(_target(two_clusters), f"a.{healthy}") >= 200,
        MIRRORED_TIMEOUT_S,
        "the healthy topic is mirrored beside the mismatched one",
    )
    assert record_count(_target(two_clusters), target) == 0
    assert agent.status().state == "RUNNING"
    # The mismatched partitions' commits stayed where their first record is: once the
    # target is fixed, the next owner copies every record.
    assert agent.stop()
    add_partitions(_target(two_clusters), target, 16)
    start_mirror(mirror_world, "m-2", _target(two_clusters), source_alias="a")
    wait_until(
        lambda: record_count(_target(two_clusters), target) >= 200,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(_target(two_clusters), target)} of 200 copied after the fix",
    )
    assert read_topic(_target(two_clusters), target) == read_topic(two_clusters.kafka, source)


def test_a_blue_green_switch_of_the_mirror_under_load_copies_every_record_once(
    two_clusters: Services, mirror_world: World
) -> None:
    source, target = mirror_world.topic, f"a.{mirror_world.topic}"
    create_source_topic(two_clusters.kafka, source, 16)
    produce_keyed(two_clusters.kafka, source, 2000)
    mirror_world.create_directive()
    start_mirror(mirror_world, "m-blue", _target(two_clusters), Colour.BLUE, source_alias="a")
    start_mirror(mirror_world, "m-green", _target(two_clusters), Colour.GREEN, source_alias="a")
    wait_until(
        lambda: mirror_world.all_owned({"m-blue"}),
        MIRRORED_TIMEOUT_S,
        "blue owns every partition",
    )
    produced = [2000]
    stop = threading.Event()

    def keep_producing() -> None:
        while not stop.wait(LOAD_CHUNK_EVERY_S):
            produce_keyed(two_clusters.kafka, source, LOAD_CHUNK, start=produced[0])
            produced[0] += LOAD_CHUNK

    load = threading.Thread(target=keep_producing, name="load", daemon=True)
    load.start()
    try:
        time.sleep(1.0)  # copying under load when the switch comes
        mirror_world.update_directive(roles={Colour.GREEN: Role.LIVE, Colour.BLUE: Role.STANDBY})
        wait_until(
            lambda: mirror_world.all_owned({"m-green"}),
            MIRRORED_TIMEOUT_S,
            "green owns every partition after the switch",
        )
        time.sleep(1.0)  # and after it
    finally:
        stop.set()
        load.join()
    total = produced[0]
    wait_until(
        lambda: record_count(_target(two_clusters), target) >= total,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(_target(two_clusters), target)} of {total} mirrored",
    )
    expected = read_topic(two_clusters.kafka, source)
    mirrored = read_topic(_target(two_clusters), target)
    # A planned switch drains, commits, then hands over: each partition's copies are its
    # source records once each, in order (a duplicate would also show as a longer list).
    assert mirrored == expected
