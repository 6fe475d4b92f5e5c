"""The work manager inside the real agent (ZooKeeper ownership, Kafka commits), end to end."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.integration.work.committed import commits_through_waves, committed
from tests.support.agent_kit import REPO_ROOT, World, wait_until
from tests.support.kafka_records import produce, read_all
from tests.support.services import create_topic
from turnout.agent import Agent
from turnout.agent.records import Record
from turnout.agent.work import (
    DeadLetterProducer,
    FailedDecision,
    Failure,
    Ordering,
    PermanentFailure,
    WorkConfig,
    WorkManager,
    work_manager_factory,
)

#: The first agent claims, processes and commits within a few seconds; the successor
#: waits for the killed agent's ZooKeeper session (4 s) to expire first.
STEP_TIMEOUT_S = 60.0


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


def test_in_the_agent_a_dead_letter_commits_past_its_record_and_do_not_commit_holds(
    two_partition_world: World,
) -> None:
    world = two_partition_world
    create_topic(world.kafka, f"{world.topic}.dlq", 1)
    world.create_directive()
    # Round robin: partition 0 gets the even records, so its offset o holds v<2*o>.
    produce(world.kafka, world.topic, 20, partitions=2)
    finished: list[int] = []

    def handler(record: Record) -> None:
        if record.partition != 0:
            return
        if record.offset in (2, 5):
            raise PermanentFailure(f"bad record {record.offset}")
        finished.append(record.offset)

    def on_failure(failure: Failure) -> FailedDecision:
        if failure.record.offset == 5:
            return FailedDecision.DO_NOT_COMMIT_AND_CONTINUE
        return FailedDecision.COMMIT_AND_CONTINUE

    work = WorkConfig(ordering=Ordering.PARTITION)
    agent = Agent(
        world.config("solo"),
        handler,
        dispatcher_factory=work_manager_factory(
            work,
            on_failure=on_failure,
            dead_letters=lambda: DeadLetterProducer.from_config(
                world.kafka, world.group, work.dead_letter
            ),
        ),
    ).start()
    world.agents["solo"] = agent
    wait_until(
        lambda: committed(world) == (5, (6, 7, 8, 9)), STEP_TIMEOUT_S, lambda: f"{committed(world)}"
    )
    # More records after the held one, in waves: each is processed while the agent keeps
    # committing (partition 1), and no commit of partition 0 ever passes the held record.
    seen = commits_through_waves(
        world, first=10, waves=3, wave_size=5, timeout_s=STEP_TIMEOUT_S,
        until=lambda end: finished[-1:] == [end - 1],
    )  # fmt: skip
    assert {point[0] for point in seen if point is not None} == {5}, seen
    assert finished == [0, 1, 3, 4, *range(6, 25)]
    letters = read_all(world.kafka, f"{world.topic}.dlq", 1)
    assert [m.value() for m in letters] == [b"v4"]
    assert agent.stop(15)
    # The clean stop committed every record finished past the held one, so a successor
    # would redo only offset 5.
    assert committed(world) == (5, tuple(range(6, 25)))


def test_the_agents_lag_gauge_shows_the_real_backlog_and_drains_to_zero(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    backlog = 300
    produce(world.kafka, world.topic, backlog)
    release = threading.Event()

    def handler(record: Record) -> None:
        # Blocks the partition on its first record until the test lets it go.
        release.wait(STEP_TIMEOUT_S)

    agent = Agent(
        world.config("solo"),
        handler,
        dispatcher_factory=work_manager_factory(WorkConfig(ordering=Ordering.PARTITION)),
    ).start()
    world.agents["solo"] = agent
    registry = agent.metrics.registry
    labels = {"topic": world.topic, "partition": "0"}

    def lag() -> float | None:
        return registry.get_sample_value("turnout_work_lag", labels)

    # Nothing is complete (the first record is stuck): the lag is the whole backlog.
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while lag() != backlog:
        assert time.monotonic() < deadline, f"lag is {lag()}, not {backlog}"
        time.sleep(0.05)
    release.set()
    while lag() != 0:
        assert time.monotonic() < deadline, f"lag is {lag()} after the handler was released"
        time.sleep(0.05)
    # New records show up in the lag as the agent fetches them, and drain again.
    produce(world.kafka, world.topic, 50)
    while lag() != 0 or committed(world) != (backlog + 50, ()):
        assert time.monotonic() < deadline, f"lag {lag()}, committed {committed(world)}"
        time.sleep(0.05)
    assert agent.stop(15)


def test_a_full_work_manager_stops_the_agents_polls_and_loses_nothing(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    first_wave = 300
    produce(world.kafka, world.topic, first_wave)
    release = threading.Event()
    built: list[WorkManager] = []

    def handler(record: Record) -> None:
        release.wait(STEP_TIMEOUT_S)

    config = WorkConfig(
        ordering=Ordering.PARTITION, max_in_flight=20, max_in_flight_per_partition=10_000
    )
    agent = Agent(
        world.config("solo"),
        handler,
        dispatcher_factory=work_manager_factory(config, on_built=built.append),
    ).start()
    world.agents["solo"] = agent
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not built or built[0].has_room():
        assert time.monotonic() < deadline, "the work manager never filled up"
        time.sleep(0.05)
    manager = built[0]
    # Full: the agent must not poll again. A second wave is produced and waits in Kafka
    # (the lag gauge sees it through the partition's fetch, which stays unpaused).
    accepted = manager.in_flight
    assert 20 <= accepted <= first_wave  # over the bound by one poll at most
    produce(world.kafka, world.topic, first_wave)
    labels = {"topic": world.topic, "partition": "0"}
    while agent.metrics.registry.get_sample_value("turnout_work_lag", labels) != 2 * first_wave:
        assert time.monotonic() < deadline, "the lag never showed the second wave"
        time.sleep(0.05)
    assert manager.in_flight == accepted
    release.set()
    while committed(world) != (2 * first_wave, ()):
        assert time.monotonic() < deadline, f"committed {committed(world)}"
        time.sleep(0.05)
    assert manager.processed_total() == 2 * first_wave
    assert agent.stop(15)


def test_in_the_agent_a_batch_handler_gets_ordered_batches_and_a_failed_one_is_retried_whole(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    total, failing_offset = 2_500, 1_234
    produce(world.kafka, world.topic, total)
    done: list[list[int]] = []
    failed: list[list[int]] = []

    def batch_handler(records: Sequence[Record]) -> None:
        offsets = [record.offset for record in records]
        if failing_offset in offsets and not failed:
            failed.append(offsets)
            raise RuntimeError("the sink refused the batch")
        done.append(offsets)

    config = WorkConfig(ordering=Ordering.PARTITION, batch_size=300, backoff=0.05)
    agent = Agent(
        world.config("solo"),
        lambda record: None,
        dispatcher_factory=work_manager_factory(config, batch_handler=batch_handler),
    ).start()
    world.agents["solo"] = agent
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while committed(world) != (total, ()):
        assert time.monotonic() < deadline, f"committed {committed(world)}"
        time.sleep(0.05)
    assert agent.stop(15)
    # Every record exactly once among the successful batches, in offset order, in
    # batches of at most batch_size; the failed batch came back whole and alone.
    assert [offset for batch in done for offset in batch] == list(range(total))
    assert all(0 < len(batch) <= config.batch_size for batch in done)
    assert len(failed) == 1 and failed[0] in done
    registry = agent.metrics.registry
    assert registry.get_sample_value("turnout_work_retries_total", {"topic": world.topic}) == 1


#: Attempts past this fail (and are retried); the hung first attempt sleeps far longer.
ATTEMPT_TIMEOUT_S = 1.0
HUNG_S = 3.0


class Concurrency:
    """How many handler attempts ran at once, at most; which offsets succeeded, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = self.peak = 0
        self.attempts: dict[int, int] = {}
        self.succeeded: list[int] = []

    def enter(self, offset: int) -> int:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.attempts[offset] = self.attempts.get(offset, 0) + 1
            return self.attempts[offset]

    def leave(self, offset: int | None) -> None:
        with self._lock:
            self.active -= 1
            if offset is not None:
                self.succeeded.append(offset)


@pytest.mark.parametrize("kind", ["coroutine", "thread"])
def test_in_the_agent_handlers_run_concurrently_and_a_timed_out_attempt_is_retried(
    the_world: World, kind: str
) -> None:
    world = the_world
    world.create_directive()
    total, hung = 40, 5
    produce(world.kafka, world.topic, total)  # a key per record: all may run at once
    seen = Concurrency()

    async def coroutine_handler(record: Record) -> None:
        attempt = seen.enter(record.offset)
        try:
            await asyncio.sleep(HUNG_S if (record.offset, attempt) == (hung, 1) else 0.05)
        except asyncio.CancelledError:
            seen.leave(None)  # the timeout cancelled it
            raise
        seen.leave(record.offset)

    def thread_handler(record: Record) -> None:
        attempt = seen.enter(record.offset)
        if (record.offset, attempt) == (hung, 1):
            time.sleep(HUNG_S)  # past the timeout: its late result is discarded
            seen.leave(None)
            return
        time.sleep(0.05)
        seen.leave(record.offset)

    config = WorkConfig(
        ordering=Ordering.KEY, workers=8, task_timeout=ATTEMPT_TIMEOUT_S, backoff=0.05
    )
    handler = coroutine_handler if kind == "coroutine" else thread_handler
    agent = Agent(
        world.config("solo"), handler, dispatcher_factory=work_manager_factory(config)
    ).start()
    world.agents["solo"] = agent
    wait_until(
        lambda: committed(world) == (total, ()), STEP_TIMEOUT_S, lambda: f"{committed(world)}"
    )
    # Every record succeeded exactly once; the hung one on its second attempt.
    assert sorted(seen.succeeded) == list(range(total))
    assert seen.attempts[hung] == 2
    assert all(n == 1 for offset, n in seen.attempts.items() if offset != hung)
    assert seen.peak >= 4, f"at most {seen.peak} attempts at once"
    registry = agent.metrics.registry
    labels = {"topic": world.topic}
    assert registry.get_sample_value("turnout_work_failed_attempts_total", labels) == 1
    assert registry.get_sample_value("turnout_work_retries_total", labels) == 1
    assert agent.stop(15)
