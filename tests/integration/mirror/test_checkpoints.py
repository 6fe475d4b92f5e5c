"""Checkpoints on two real clusters: a chosen group's translated offsets committed on
the target, never moved backwards, never written while the target group has members."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_positions_kit import (
    MIRRORED_TIMEOUT_S,
    POLL_S,
    RECORDS,
    consume_part,
    mirror_all,
    target_kafka,
    translate_json,
    wait_newest_synced,
)
from tests.support.services import Services, unique_name
from turnout.mirror.assembly import mirror_parts
from turnout.mirror.settings import MirrorSettings
from turnout.mirror.translation import group_positions

#: Checkpoints in the test: often, so that a few ticks pass in seconds.
CHECKPOINT_TEST_INTERVAL_S = 1.0


def _target_committed(services: Services, group: str) -> dict[int, int]:
    return {p: o for (_, p), o in group_positions(target_kafka(services), group).items()}


def _wait_committed_on_target(services: Services, group: str, expected: dict[int, int]) -> None:
    wait_until(
        lambda: _target_committed(services, group) == expected,
        MIRRORED_TIMEOUT_S,
        lambda: f"{group} on the target: {_target_committed(services, group)}, expected {expected}",
    )


def test_checkpoints_commit_translated_offsets_forward_only_and_never_to_an_active_group(
    two_clusters: Services, positions_world: World
) -> None:
    source = positions_world.topic
    target_topic = mirror_all(two_clusters, positions_world)
    wait_newest_synced(two_clusters, source)
    fresh, ahead, active = unique_name("fresh"), unique_name("ahead"), unique_name("active")
    for group in (fresh, ahead, active):
        consume_part(two_clusters.kafka, source, group, RECORDS // 2)
    # ``ahead`` read further on the target already; ``active`` is consuming there now.
    commit_on_target = Consumer(
        {"bootstrap.servers": target_kafka(two_clusters), "group.id": ahead}
    )
    far = commit_on_target.get_watermark_offsets(TopicPartition(target_topic, 0), POLL_S * 20)[1]
    commit_on_target.commit(offsets=[TopicPartition(target_topic, 0, far)], asynchronous=False)
    commit_on_target.close()
    member = Consumer(
        {
            "bootstrap.servers": target_kafka(two_clusters),
            "group.id": active,
            "enable.auto.commit": False,
        }
    )
    member.subscribe([target_topic])
    try:
        wait_until(
            lambda: member.consume(1, POLL_S) is not None and bool(member.assignment()),
            MIRRORED_TIMEOUT_S,
            lambda: "the target group's member was never assigned",
        )
        settings = MirrorSettings(
            target_kafka=target_kafka(two_clusters),
            source_alias="a",
            checkpoint_groups=[fresh, ahead, active],
            checkpoint_interval_s=CHECKPOINT_TEST_INTERVAL_S,
        )
        parts = mirror_parts(positions_world.config("m-2"), settings)
        assert parts.checkpointer is not None
        parts.checkpointer.start()
        try:
            for group, kept in ((fresh, {}), (ahead, {0: far})):
                translated = {
                    row["partition"]: row["target_offset"]
                    for row in translate_json(two_clusters, group)
                }
                expected = {**translated, **kept}
                _wait_committed_on_target(two_clusters, group, expected)
            # Several intervals more: the active group is still untouched.
            time.sleep(3 * CHECKPOINT_TEST_INTERVAL_S)
            member.consume(1, 0)  # stays a member
            assert _target_committed(two_clusters, active) == {}
        finally:
            parts.stop()
    finally:
        member.close()
