"""The mirror's offset syncs on two real clusters: every sync it records on the target
is true (the copy at its target offset is the record at its source offset), and every
partition's newest copied position is synced."""

from __future__ import annotations

import time

from confluent_kafka import Producer

from tests.support.agent_kit import DEPLOYMENT, World
from tests.support.mirror_kit import read_topic
from tests.support.mirror_positions_kit import mirror_all, target_kafka, wait_newest_synced
from tests.support.services import Services, create_topic, unique_name
from turnout.mirror.sync_follower import SyncFollower
from turnout.mirror.sync_topic import SyncMessage, offset_syncs_topic, read_syncs

#: Long enough for a follower's consumer to fetch again after its last record and queue
#: the partition's end.
END_QUEUED_S = 1.0


def test_the_offset_syncs_on_the_target_are_true_and_hold_every_newest_position(
    two_clusters: Services, positions_world: World
) -> None:
    source = positions_world.topic
    target_topic = mirror_all(two_clusters, positions_world)
    wait_newest_synced(two_clusters, source)
    table = read_syncs(target_kafka(two_clusters), DEPLOYMENT)
    assert table.target_topics[source] == target_topic
    originals = read_topic(two_clusters.kafka, source)
    copies = read_topic(target_kafka(two_clusters), target_topic)
    for (topic, partition), history in table.histories.items():
        if topic != source:
            continue  # other tests mirror under the same deployment name
        for sync in history.syncs:
            assert copies[partition][sync.target] == originals[partition][sync.source]


def test_a_sync_follower_reads_what_was_written_after_it_reached_the_end(
    two_clusters: Services,
) -> None:
    deployment = unique_name("follow")
    topic = offset_syncs_topic(deployment)
    target = target_kafka(two_clusters)
    create_topic(target, topic, 1)
    producer = Producer({"bootstrap.servers": target})

    def write_sync(source_topic: str) -> None:
        sync = SyncMessage(
            source_topic=source_topic,
            partition=0,
            source_offset=5,
            target_topic=f"a.{source_topic}",
            target_offset=7,
        )
        producer.produce(topic, key=f"{source_topic}/0", value=sync.model_dump_json())
        assert producer.flush(10.0) == 0

    follower = SyncFollower(target, deployment)
    try:
        write_sync("first")
        assert set(follower.refresh().target_topics) == {"first"}
        time.sleep(END_QUEUED_S)
        write_sync("second")  # the end the first refresh reached is queued before it
        assert set(follower.refresh().target_topics) == {"first", "second"}
    finally:
        follower.close()
