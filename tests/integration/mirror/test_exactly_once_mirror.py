"""The mirror exactly once, on two real clusters: a `turnout mirror run` process
SIGKILLed mid-stream and another started, and a read_committed reader of the target
finds every source record once, in source order."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import (
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
    spawn_mirror,
)
from tests.support.mirror_positions_kit import (
    MIRRORED_TIMEOUT_S,
    PARTITIONS,
    committed_count,
    read_committed,
    target_kafka,
)
from tests.support.services import Services
from turnout.protocol.processing import ProcessingSettings

#: Records produced before the mirror starts, and at most while it runs (in chunks, so
#: that the kill always finds it copying: one transaction may carry thousands).
RECORDS = 20_000
CHUNK = 500
CHUNK_EVERY_S = 0.1

EXACTLY_ONCE = ProcessingSettings.model_validate(
    {"version": 2, "ordering": "partition", "guarantee": "exactly_once"}
)


def test_a_sigkilled_exactly_once_mirror_leaves_every_record_once_in_the_target(
    two_clusters: Services, positions_world: World, tmp_path: Path
) -> None:
    source, target = positions_world.topic, f"a.{positions_world.topic}"
    create_source_topic(two_clusters.kafka, source, PARTITIONS)
    produce_keyed(two_clusters.kafka, source, RECORDS)
    positions_world.create_directive(processing=EXACTLY_ONCE)
    produced = [RECORDS]
    stop_producing = threading.Event()

    def keep_producing() -> None:
        while not stop_producing.wait(CHUNK_EVERY_S) and produced[0] < 2 * RECORDS:
            produce_keyed(two_clusters.kafka, source, CHUNK, start=produced[0])
            produced[0] += CHUNK

    producing = threading.Thread(target=keep_producing, name="chunks", daemon=True)
    first = spawn_mirror(positions_world, "m-1", target_kafka(two_clusters), tmp_path)
    producing.start()
    try:
        # Watermarks (copies and transaction markers) answer at once, where reading the
        # committed copies takes longer than the mirror needs to catch up.
        wait_until(
            lambda: record_count(target_kafka(two_clusters), target) >= RECORDS // 10,
            MIRRORED_TIMEOUT_S,
            lambda: (
                f"the first mirror copied {committed_count(target_kafka(two_clusters), target)}"
                f"; its output: {first.output()}"
            ),
        )
        first.signal(signal.SIGKILL)
        first.kill()
    finally:
        stop_producing.set()
        producing.join()
    # Records the killed mirror never saw: the next one resumes from its last commit.
    produce_keyed(two_clusters.kafka, source, CHUNK, start=produced[0])
    total = produced[0] + CHUNK
    at_kill = committed_count(target_kafka(two_clusters), target)
    assert at_kill < total

    second = spawn_mirror(positions_world, "m-2", target_kafka(two_clusters), tmp_path)
    wait_until(
        lambda: committed_count(target_kafka(two_clusters), target) >= total,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"{committed_count(target_kafka(two_clusters), target)} of {total} in the "
            f"target; the second mirror's output: {second.output()}"
        ),
    )
    expected = read_topic(two_clusters.kafka, source)
    mirrored = read_committed(target_kafka(two_clusters), target)
    # Every partition's committed copies are its source records once each, in order:
    # nothing lost, nothing duplicated, keys, values, headers and timestamps kept.
    assert mirrored == expected
