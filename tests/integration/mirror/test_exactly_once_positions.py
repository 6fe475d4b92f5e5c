"""Offset syncs of the mirror exactly once, on two real clusters: a mirror copying in
transactions while records arrive records syncs naming committed copies only, so
``turnout mirror translate`` gives a group that read to the head the exact target
offsets (a ``read_committed`` reader from there reads exactly what the group had not),
and a checkpointed group's translated offsets land on the target."""

from __future__ import annotations

import time

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import create_source_topic, produce_keyed, read_topic, start_mirror
from tests.support.mirror_positions_kit import (
    MIRRORED_TIMEOUT_S,
    PARTITIONS,
    committed_count,
    consume_part,
    read_committed,
    target_kafka,
    translate_json,
    wait_newest_synced,
)
from tests.support.services import Services, unique_name
from turnout.mirror.assembly import mirror_parts
from turnout.mirror.settings import MirrorSettings
from turnout.mirror.translation import group_positions
from turnout.protocol.processing import ProcessingSettings

#: Records before the mirror starts, then as many more in chunks while it copies (so
#: that its transactions interleave with arriving records), then as many again after
#: the group read to the head.
RECORDS = 4000
CHUNK = 200
CHUNK_EVERY_S = 0.05
#: Checkpoints in the test: often, so that a few ticks pass in seconds.
CHECKPOINT_TEST_INTERVAL_S = 1.0

EXACTLY_ONCE = ProcessingSettings.model_validate(
    {"version": 2, "ordering": "partition", "guarantee": "exactly_once"}
)


def _wait_copied(services: Services, topic: str, total: int) -> None:
    wait_until(
        lambda: committed_count(target_kafka(services), topic) >= total,
        MIRRORED_TIMEOUT_S,
        lambda: f"{committed_count(target_kafka(services), topic)} of {total} copies committed",
    )


def test_an_exactly_once_mirror_under_load_translates_and_checkpoints_exactly(
    two_clusters: Services, positions_world: World
) -> None:
    source, target = positions_world.topic, f"a.{positions_world.topic}"
    create_source_topic(two_clusters.kafka, source, PARTITIONS)
    produce_keyed(two_clusters.kafka, source, RECORDS)
    positions_world.create_directive(processing=EXACTLY_ONCE)
    start_mirror(positions_world, "m-1", target_kafka(two_clusters), source_alias="a")
    for start in range(RECORDS, 2 * RECORDS, CHUNK):  # while it copies
        produce_keyed(two_clusters.kafka, source, CHUNK, start=start)
        time.sleep(CHUNK_EVERY_S)
    _wait_copied(two_clusters, target, 2 * RECORDS)
    wait_newest_synced(two_clusters, source)

    group = unique_name("moving")
    head = consume_part(two_clusters.kafka, source, group, 2 * RECORDS)
    produce_keyed(two_clusters.kafka, source, RECORDS, start=2 * RECORDS)
    _wait_copied(two_clusters, target, 3 * RECORDS)
    originals = read_topic(two_clusters.kafka, source)

    rows = translate_json(two_clusters, group)
    assert {row["partition"]: row["committed"] for row in rows} == head
    assert all(row["precision"] == "exact" for row in rows), rows
    translated = {row["partition"]: row["target_offset"] for row in rows}
    unread = read_committed(target_kafka(two_clusters), target, translated)
    for partition, offset in head.items():
        # Exactly the records the group had not read: none skipped, none read again.
        assert unread.get(partition, []) == originals[partition][offset:]

    settings = MirrorSettings(
        target_kafka=target_kafka(two_clusters),
        source_alias="a",
        checkpoint_groups=[group],
        checkpoint_interval_s=CHECKPOINT_TEST_INTERVAL_S,
    )
    parts = mirror_parts(positions_world.config("m-2"), settings)
    assert parts.checkpointer is not None
    parts.checkpointer.start()
    try:

        def on_target() -> dict[int, int]:
            found = group_positions(target_kafka(two_clusters), group)
            return {p: o for (_, p), o in found.items()}

        wait_until(
            lambda: on_target() == translated,
            MIRRORED_TIMEOUT_S,
            lambda: f"{group} on the target: {on_target()}, translated {translated}",
        )
    finally:
        parts.stop()
