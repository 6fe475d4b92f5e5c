"""`turnout agent run` runs the work manager the deployment's settings describe: retries
and dead letters from the directive, coroutine and batch handlers told from the function."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.integration.agent.test_cli import _run
from tests.support.agent_kit import World, wait_until
from tests.support.kafka_records import read_all
from turnout.agent.work.dead_letters import HEADER_ATTEMPTS, HEADER_ERROR_TYPE, HEADER_OFFSET
from turnout.protocol.processing import ProcessingSettings

#: Retries that take milliseconds, and dead letters on.
RETRY_THEN_DEAD_LETTER = ProcessingSettings.model_validate(
    {
        "version": 3,
        "ordering": "key",
        "workers": 4,
        "retries": {"max_retries": 2, "backoff_ms": 10, "max_backoff_ms": 20, "jitter_ms": 0},
        "dead_letters": {"enabled": True, "topic": "{topic}.dead"},
    }
)


def _agent(
    world: World,
    handler: str,
    records: Path | None = None,
    colour: str = "blue",
    instance: str = "cli-1",
) -> subprocess.Popen[str]:
    return _run(
        [
            handler,
            "--deployment",
            "dep",
            "--colour",
            colour,
            "--instance",
            instance,
            "--zookeeper",
            world.zookeeper,
            "--kafka",
            world.kafka,
            "--session-timeout",
            "4",
            "-X",
            "fetch.wait.max.ms=50",
        ],
        env={"TURNOUT_TEST_RECORDS_FILE": str(records)} if records is not None else None,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    try:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    return stderr


def _records_in(kafka: str, topic: str) -> int:
    """Records in every partition of ``topic`` (0 while it does not exist)."""
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": "counting"})
    try:
        found = consumer.list_topics(topic, timeout=10.0).topics.get(topic)
        if found is None or found.error is not None:
            return 0
        marks = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)
            for p in found.partitions
        ]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_retry_and_dead_letter_policy_in_the_directive_drives_the_cli_agent(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    world = make_world(partitions=2)
    world.create_directive(processing=RETRY_THEN_DEAD_LETTER)
    records = tmp_path / "records.txt"
    process = _agent(world, "tests.support.agent_handlers:fail_poison", records)
    try:
        wait_until(lambda: world.all_owned({"cli-1"}), 30, "the CLI agent owns everything")
        wait_until(
            lambda: (s := world.instance_status("cli-1")) is not None and s.processing_version == 3,
            30,
            "the CLI agent runs the deployment's settings",
        )
        producer = Producer({"bootstrap.servers": world.kafka})
        for i in range(20):
            value = f"poison-{i}" if i % 7 == 3 else f"r{i}"
            producer.produce(
                world.topic,
                key=f"k{i % 5}".encode(),
                value=value.encode(),
                partition=0,
                headers=[("trace", f"t{i}".encode())],
            )
        assert producer.flush(10) == 0
        wait_until(lambda: len(_lines(records)) == 17, 30, "17 good records handled")
        # The agent creates the topic before the first letter: wait for it, then read.
        dead = f"{world.topic}.dead"
        wait_until(lambda: _records_in(world.kafka, dead) == 3, 30, "3 dead letters")
        letters = read_all(world.kafka, dead, expected=3)
    finally:
        stderr = _stop(process)
    assert sorted(m.value() for m in letters) == [b"poison-10", b"poison-17", b"poison-3"], stderr
    for letter in letters:
        headers = dict(letter.headers() or [])
        offset = int(headers[HEADER_OFFSET])
        assert headers["trace"] == f"t{offset}".encode()  # the record's own headers kept
        assert headers[HEADER_ATTEMPTS] == b"3"  # the first attempt and two retries
        assert headers[HEADER_ERROR_TYPE] == b"tests.support.agent_handlers.Poisoned"
    assert world.owners() == {}


@pytest.mark.parametrize("handler", ["append_async", "append_batch"])
def test_the_cli_runs_coroutine_and_batch_handlers_under_the_deployments_settings(
    make_world: Callable[..., World], tmp_path: Path, handler: str
) -> None:
    world = make_world(partitions=2)
    world.create_directive(processing=ProcessingSettings(ordering="unordered", workers=8))
    records = tmp_path / "records.txt"
    process = _agent(world, f"tests.support.agent_handlers:{handler}", records)
    try:
        wait_until(lambda: world.all_owned({"cli-1"}), 30, "the CLI agent owns everything")
        producer = Producer({"bootstrap.servers": world.kafka})
        for i in range(200):
            producer.produce(world.topic, value=f"r{i}".encode(), partition=i % 2)
        assert producer.flush(10) == 0
        wait_until(lambda: len(_lines(records)) == 200, 30, "200 records handled")
    finally:
        _stop(process)
    assert sorted(_lines(records)) == sorted(f"{i % 2} {i // 2} r{i}" for i in range(200))
