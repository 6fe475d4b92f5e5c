"""The mirror's offset syncs on two real clusters: every sync it records on the target
is true (the copy at its target offset is the record at its source offset), and every
partition's newest copied position is synced."""

from __future__ import annotations

from tests.support.agent_kit import DEPLOYMENT, World
from tests.support.mirror_kit import read_topic
from tests.support.mirror_positions_kit import mirror_all, target_kafka, wait_newest_synced
from tests.support.services import Services
from turnout.mirror.sync_topic import read_syncs


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
