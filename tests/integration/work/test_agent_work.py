"""The work manager inside the real agent (ZooKeeper ownership, Kafka commits), end to end."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.work.kafka_support import produce
from tests.integration.work.loop import read_committed
from tests.support.agent_kit import REPO_ROOT, World
from tests.support.services import Services

#: The first agent claims, processes and commits within a few seconds; the successor
#: waits for the killed agent's ZooKeeper session (4 s) to expire first.
STEP_TIMEOUT_S = 60.0


@pytest.fixture
def the_world(
    services: Services,
    zk_root: str,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[World]:
    world = World(zk_root, services.kafka, topic_factory(1), unique("group"), 1, tmp_path)
    try:
        yield world
    finally:
        world.close()


def spawn(world: World, instance: str, processed: Path, hang: str = "") -> subprocess.Popen[bytes]:
    with (world.log_dir / f"{instance}.out").open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable, "-m", "tests.integration.work.agent_proc",
                "--zookeeper", world.zookeeper, "--kafka", world.kafka,
                "--instance", instance, "--processed", str(processed), "--hang", hang,
            ],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not condition():
        assert process.poll() is None, f"the agent exited with {process.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def committed(world: World) -> tuple[int, tuple[int, ...]] | None:
    found = read_committed(world.kafka, world.group, [(world.topic, 0)])
    if (world.topic, 0) not in found:
        return None
    offset, metadata = found[(world.topic, 0)]
    return offset, metadata.done if metadata else ()


def offsets_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_crash_with_3_and_7_unfinished_commits_3_and_the_successor_redoes_only_3_and_7(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    produce(world.kafka, world.topic, 10)
    first_log = world.log_dir / "first.processed"
    first = spawn(world, "first", first_log, hang="3,7")
    try:
        wait_for(
            lambda: committed(world) == (3, (4, 5, 6, 8, 9)),
            "commit 3 with 4,5,6,8,9 done (last seen: see the agent's log)",
            first,
        )
        assert sorted(offsets_in(first_log)) == list(range(10))
    finally:
        first.kill()  # SIGKILL: no drain, no final commit
        first.wait(10)
    assert committed(world) == (3, (4, 5, 6, 8, 9))

    second_log = world.log_dir / "second.processed"
    second = spawn(world, "second", second_log)
    try:
        wait_for(
            lambda: committed(world) is not None and committed(world)[0] == 10, "commit 10", second
        )  # type: ignore[index]
        assert sorted(offsets_in(second_log)) == [3, 7]
    finally:
        second.terminate()
        second.wait(20)
