"""Cluster migration with ``turnout mirror consume``: blue on cluster A and green on the
mirror's copies on B, each its own process given its side of the mirror; a
switch under load and a rollback process every record of A exactly once, each colour in
offset order, over both clusters."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.support.agent_kit import (
    DEPLOYMENT,
    FENCE_MARGIN_S,
    REPO_ROOT,
    SESSION_TIMEOUT_S,
    Spawned,
    wait_until,
)
from tests.support.migration_kit import MigrationWorld, recorded_positions, source_positions
from tests.support.mirror_kit import create_source_topic
from turnout.protocol import Colour, Role
from turnout.protocol.crossing import Crossing, MirrorSide

SOURCE_PARTITIONS = PARTITIONS = 4
KEYS = 16
#: A claim across the clusters waits for the mirror to copy (and sync) past the handover,
#: on a loaded two-core machine.
SETTLE_S = 60.0
#: Records each colour processes before the next switch.
RECORDS_PER_TENURE = 200


def spawn_colour(
    mw: MigrationWorld, colour: Colour, kafka: str, side: str, peer: str, records: Path
) -> Spawned:
    consumer = mw.consumer
    instance = f"{colour}-1"
    out = consumer.log_dir / f"cli-{instance}.out"
    command = [
        sys.executable, "-m", "turnout", "mirror", "consume",
        "tests.support.agent_handlers:append_source_position",
        "--mirror", mw.mirror.paths.deployment, "--side", side, "--peer-kafka", peer,
        "--deployment", DEPLOYMENT, "--colour", str(colour), "--instance", instance,
        "--zookeeper", consumer.zookeeper, "--kafka", kafka,
        "--session-timeout", str(SESSION_TIMEOUT_S), "--fence-margin", str(FENCE_MARGIN_S),
    ]  # fmt: skip
    environment = {**os.environ, "TURNOUT_TEST_RECORDS_FILE": str(records)}
    with out.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=environment
        )
    spawned = Spawned(instance, process, out)
    consumer.spawned[f"{instance}-{process.pid}"] = spawned
    return spawned


def test_cli_colours_migrate_to_the_mirrored_cluster_and_back_processing_each_record_once(
    mw: MigrationWorld, tmp_path: Path
) -> None:
    consumer = mw.consumer
    create_source_topic(consumer.kafka, consumer.topic, PARTITIONS)
    mw.start_mirror()
    mirror = mw.mirror.paths.deployment
    # As the control plane writes it for a colour with `via_mirror` (each colour's side).
    consumer.create_directive(
        live=Colour.BLUE,
        crossings={
            Colour.BLUE: Crossing(mirror=mirror, side=MirrorSide.SOURCE),
            Colour.GREEN: Crossing(mirror=mirror, side=MirrorSide.COPIES),
        },
    )
    files = {Colour.BLUE: tmp_path / "blue.txt", Colour.GREEN: tmp_path / "green.txt"}
    spawn_colour(mw, Colour.BLUE, consumer.kafka, "source", mw.target, files[Colour.BLUE])
    spawn_colour(mw, Colour.GREEN, mw.target, "copies", consumer.kafka, files[Colour.GREEN])

    # A green agent started without the mirror (reading A's topics as named) would start
    # at blue's commit on A, not the translated one: it owns nothing, says why, and is
    # not ready, so a switch to green waits for it to go (or be started on B).
    stray = consumer.spawn_agent("green-stray", Colour.GREEN)

    def refusal() -> str | None:
        status = consumer.instance_status("green-stray")
        found = [e for e in status.errors if "owns nothing until" in e] if status else []
        return found[0] if found and status is not None and status.ready is False else None

    wait_until(lambda: refusal() is not None, SETTLE_S, "the stray green agent's refusal")
    assert f"green consume its copies (mirror '{mirror}')" in (refusal() or "")
    assert stray.terminate() == 0, stray.output()
    consumer.spawned = {k: v for k, v in consumer.spawned.items() if v is not stray}
    load = consumer.producer(keys=KEYS)

    def processed() -> int:
        return sum(len(recorded_positions(path)) for path in files.values())

    def tenure(live: Colour) -> None:
        other = Colour.GREEN if live is Colour.BLUE else Colour.BLUE
        epoch = consumer.update_directive(roles={live: Role.LIVE, other: Role.STANDBY})
        wait_until(
            lambda: consumer.all_owned({f"{live}-1"}, epoch=epoch.directive.epoch),
            SETTLE_S,
            lambda: f"{live}-1 owns every partition: {consumer.owner_map()}",
        )
        target = processed() + RECORDS_PER_TENURE
        wait_until(lambda: processed() >= target, SETTLE_S, f"{live} to process more")

    wait_until(lambda: consumer.all_owned({"blue-1"}), SETTLE_S, "blue owns everything")
    tenure(Colour.BLUE)
    tenure(Colour.GREEN)  # the switch to the copies on B
    tenure(Colour.BLUE)  # the rollback to A
    acked = load.stop()
    wait_until(
        lambda: processed() >= acked,
        SETTLE_S,
        lambda: f"{processed()} of {acked} records processed",
    )
    for spawned in list(consumer.spawned.values()):
        assert spawned.terminate() == 0, spawned.output()

    done = {colour: recorded_positions(path) for colour, path in files.items()}
    assert done[Colour.GREEN], "green processed nothing on B"
    for colour, rows in done.items():
        for partition in range(PARTITIONS):
            offsets = [o for p, o in rows if p == partition]
            assert offsets == sorted(offsets), f"{colour} out of order in partition {partition}"
    every = Counter(done[Colour.BLUE] + done[Colour.GREEN])
    assert [where for where, n in every.items() if n > 1] == []
    assert sorted(every) == sorted(source_positions(consumer.kafka, consumer.topic, acked))
