"""The local stack is real: Kafka takes and serves records, ZooKeeper keeps znodes, and
`turnout dev` starts, reports and stops it without leaving a process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, Producer

from tests.support.services import Services
from turnout.devstack.process import find_ours, free_port, stack_marker
from turnout.zk import ZkGateway

#: Generous bound for a loopback produce/consume of a few records on a busy CI box.
ROUND_TRIP_TIMEOUT_S = 30.0


def test_records_produced_to_a_topic_are_consumed_back_in_order(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(partitions=1)
    producer = Producer({"bootstrap.servers": services.kafka, "acks": "all"})
    sent = [f"record-{i}".encode() for i in range(20)]
    for value in sent:
        producer.produce(topic, value=value, key=b"k")
    assert producer.flush(ROUND_TRIP_TIMEOUT_S) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": services.kafka,
            "group.id": unique("group"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[bytes] = []
    try:
        while len(received) < len(sent):
            message = consumer.poll(ROUND_TRIP_TIMEOUT_S)
            assert message is not None, f"only {len(received)} of {len(sent)} records came back"
            assert message.error() is None, message.error()
            received.append(message.value() or b"")
    finally:
        consumer.close()
    assert received == sent


def test_znode_created_in_the_test_chroot_reads_back(zk: ZkGateway) -> None:
    zk.create("/deployments/billing", b'{"epoch": 1}', makepath=True)
    data, stat = zk.get("/deployments/billing")
    assert data == b'{"epoch": 1}'
    assert stat.version == 0
    assert zk.children("/deployments") == ["billing"]


def test_ephemeral_znode_is_owned_by_the_session_that_made_it(zk: ZkGateway) -> None:
    zk.create("/owner", b"me", ephemeral=True)
    stat = zk.exists("/owner")
    assert stat is not None
    assert stat.ephemeral_owner == zk.session_id != 0


def _turnout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turnout", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_dev_up_is_idempotent_and_down_leaves_no_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    ports = {
        "TURNOUT_DEV_ZOOKEEPER_PORT": str(free_port()),
        "TURNOUT_DEV_KAFKA_PORT": str(free_port()),
        "TURNOUT_DEV_KAFKA_CONTROLLER_PORT": str(free_port()),
    }
    env = {**os.environ, **ports, "TURNOUT_DEV_STATE_DIR": str(state_dir)}
    try:
        first = _turnout("dev", "up", env=env)
        assert first.returncode == 0, first.stderr
        assert "the local stack is up" in first.stdout

        second = _turnout("dev", "up", env=env)
        assert second.returncode == 0, second.stderr
        assert "already up" in second.stdout
        assert "fetching" not in second.stdout

        status = _turnout("dev", "status", "--json", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        reported = {s["name"]: s for s in json.loads(status.stdout)}
        assert reported["zookeeper"]["healthy"] and reported["kafka"]["healthy"]
        assert reported["zookeeper"]["address"].endswith(ports["TURNOUT_DEV_ZOOKEEPER_PORT"])
        assert reported["kafka"]["address"].endswith(ports["TURNOUT_DEV_KAFKA_PORT"])
        assert Path(reported["kafka"]["log_file"]).is_file()

        # Told only the state dir, status probes the ports the stack was started on.
        unported = {k: v for k, v in env.items() if k not in ports}
        plain = _turnout("dev", "status", env=unported)
        assert plain.returncode == 0, plain.stdout + plain.stderr
        assert plain.stdout.count("healthy") == 2, plain.stdout
    finally:
        down = _turnout("dev", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert "stopped: kafka, zookeeper" in down.stdout
    left = find_ours(stack_marker(state_dir))
    assert left == []
    after = _turnout("dev", "status", env=env)
    assert after.returncode == 1
    assert "down" in after.stdout


def test_dev_up_on_a_taken_port_fails_with_the_reason(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        env = {
            **os.environ,
            "TURNOUT_DEV_STATE_DIR": str(tmp_path / "stack"),
            "TURNOUT_DEV_ZOOKEEPER_PORT": str(squatter.getsockname()[1]),
            "TURNOUT_DEV_KAFKA_PORT": str(free_port()),
            "TURNOUT_DEV_KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        result = _turnout("dev", "up", env=env)
    assert result.returncode == 1
    assert "is taken by another process" in result.stderr.splitlines()[0]
