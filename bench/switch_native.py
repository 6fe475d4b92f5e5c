"""Kafka's native rollouts, for the switch benchmark to compare Turnout with.

A rollout: 4 consumers of the old version own the group's partitions; 4 consumers of
the new version join the same group, and once each has received partitions the 4 old
ones leave (``close()``). Modes (``MODES``): the classic protocol with eager range
assignment, with cooperative-sticky, and the KIP-848 consumer protocol
(``group.protocol=consumer``), each with librdkafka's default heartbeat and *tuned* the
way a team that cares about rollouts tunes it: ``heartbeat.interval.ms`` 1,000 and
``session.timeout.ms`` 6,000 on the consumers (classic), or the group's
``consumer.heartbeat.interval.ms`` 1,000 and ``consumer.session.timeout.ms`` 6,000
(KIP-848 moves both to the broker: the group-level settings override the broker's
``group.consumer.heartbeat.interval.ms`` and ``group.consumer.session.timeout.ms``
through an incremental config change, no broker restart; the dev stack's broker allows
down to 500 ms and 1 s).

As Turnout's standby is warm, every new consumer is created and connected before its
rollout starts: it has read the topic's metadata and found the group's coordinator
(an offset read), and only subscribes when told. A child process runs one consumer
after another::

    connect ─▶ READY ──go──▶ MEMBER (subscribed, consuming, committing every 200 ms and
    on revocation) ──leave──▶ closed (the group rebalances at once) ─▶ connect a fresh
    consumer ─▶ READY ... ──exit──▶ gone

so one set of 8 processes makes every rollout of a mode, swapping old and new each time.
A consumer's instance name carries its generation (``old-0-g3``), so the history keeps
each consumer apart.

``python -m bench.switch_native --child ...`` is the child; ``run_native`` the parent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import uuid
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from bench.switch_load import LoadProcess, start_group_at_end
from bench.switch_measure import EventTail, scenario_result, switch_done_ns
from bench.waiting import wait_for
from turnout.agent.records import Record
from turnout.devstack.process import stop_children
from turnout.verify import EventLog, check, read_events

#: mode -> (consumer properties, group configs set before the group forms).
TUNED_CLASSIC = {"heartbeat.interval.ms": 1000, "session.timeout.ms": 6000}
TUNED_GROUP = {"consumer.heartbeat.interval.ms": "1000", "consumer.session.timeout.ms": "6000"}
MODES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "kafka_eager": ({"partition.assignment.strategy": "range"}, {}),
    "kafka_cooperative": ({"partition.assignment.strategy": "cooperative-sticky"}, {}),
    "kafka_consumer_protocol": ({"group.protocol": "consumer"}, {}),
    "kafka_eager_tuned": ({"partition.assignment.strategy": "range", **TUNED_CLASSIC}, {}),
    "kafka_cooperative_tuned": (
        {"partition.assignment.strategy": "cooperative-sticky", **TUNED_CLASSIC},
        {},
    ),
    "kafka_consumer_protocol_tuned": ({"group.protocol": "consumer"}, TUNED_GROUP),
}
INSTANCES_PER_VERSION = 4
#: Bounds: a broken rollout must not hang the benchmark.
CONNECT_TIMEOUT_S = 30.0
ROLLOUT_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
#: Pause between rollouts (records flow under the new consumers before the next one).
SETTLE_S = 1.0
#: A member commits what it processed this often.
COMMIT_INTERVAL_S = 0.2


# ---- the child: one consumer after another ----------------------------------------------


def _connected_consumer(conf: dict[str, Any], topic: str) -> Consumer:
    """A consumer that has read ``topic``'s metadata and found the group's coordinator."""
    consumer = Consumer(conf)
    consumer.list_topics(topic, timeout=CONNECT_TIMEOUT_S)
    consumer.committed([TopicPartition(topic, 0)], timeout=CONNECT_TIMEOUT_S)
    return consumer


def _consume(consumer: Consumer, topic: str, events: Any, leave: threading.Event) -> None:
    """Subscribe and consume until ``leave``; commit on the way and on revocation."""
    positions: dict[tuple[str, int], int] = {}

    def commit(partitions: list[TopicPartition] | None, asynchronous: bool) -> None:
        wanted = [
            TopicPartition(t, p, o)
            for (t, p), o in positions.items()
            if partitions is None or any(tp.topic == t and tp.partition == p for tp in partitions)
        ]
        if wanted:
            with suppress(Exception):  # a commit refused during a rebalance is retried later
                if asynchronous:
                    consumer.commit(offsets=wanted, asynchronous=True)
                else:
                    consumer.commit(offsets=wanted, asynchronous=False)

    def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
        commit(partitions, asynchronous=False)
        for tp in partitions:
            positions.pop((tp.topic, tp.partition), None)

    def on_lost(_: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            positions.pop((tp.topic, tp.partition), None)

    consumer.subscribe([topic], on_revoke=on_revoke, on_lost=on_lost)
    last_commit = time.monotonic()
    while not leave.is_set():
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is None:
            start = time.monotonic_ns()
            msg_topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            assert msg_topic is not None and partition is not None and offset is not None
            record = Record(
                topic=msg_topic,
                partition=partition,
                offset=offset,
                key=msg.key(),
                value=msg.value(),
                headers=(),
                timestamp_ms=0,
                epoch=0,
            )
            events.processed(record, start, time.monotonic_ns())
            positions[(msg_topic, partition)] = offset + 1
        if time.monotonic() - last_commit > COMMIT_INTERVAL_S:
            commit(None, asynchronous=True)
            last_commit = time.monotonic()
    commit(None, asynchronous=False)
    consumer.close()  # leaves the group: it rebalances at once


def _child(args: argparse.Namespace) -> int:
    conf: dict[str, Any] = {
        "bootstrap.servers": args.kafka,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "log_level": 3,
        **MODES[args.mode][0],
    }
    commands: list[str] = []
    arrived = threading.Condition()

    def read_commands() -> None:
        for line in sys.stdin:
            with arrived:
                commands.append(line.strip())
                arrived.notify_all()
        with arrived:
            commands.append("exit")
            arrived.notify_all()

    def next_command() -> str:
        with arrived:
            while not commands:
                arrived.wait()
            return commands.pop(0)

    threading.Thread(target=read_commands, daemon=True).start()
    log_dir = Path(args.events)
    with EventLog.in_directory(log_dir) as log:
        generation = 0
        while True:
            consumer = _connected_consumer(conf, args.topic)
            (log_dir / f"ready-{args.instance}-{generation}").touch()
            if next_command() != "go":
                consumer.close()
                return 0
            leave = threading.Event()
            events = log.bind(f"{args.instance}-g{generation}", args.colour)
            member = threading.Thread(target=_consume, args=(consumer, args.topic, events, leave))
            member.start()
            command = next_command()
            leave.set()
            member.join()
            if command != "leave":
                return 0
            generation += 1


# ---- the parent: every rollout of one mode ----------------------------------------------


class _Side:
    """One version's 4 child processes and the generation their consumers are at."""

    def __init__(self, names: list[str], colour: str) -> None:
        self.names = names
        self.colour = colour
        self.generation = 0
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def instances(self) -> set[str]:
        return {f"{name}-g{self.generation}" for name in self.names}

    def send(self, command: str) -> None:
        for name in self.names:
            stdin = self.processes[name].stdin
            assert stdin is not None
            with suppress(BrokenPipeError):
                stdin.write(f"{command}\n".encode())
                stdin.flush()

    def ready(self, log_dir: Path) -> bool:
        return all((log_dir / f"ready-{n}-{self.generation}").exists() for n in self.names)


def _configure_group(kafka: str, group: str, configs: dict[str, str]) -> None:
    if not configs:
        return
    admin = AdminClient({"bootstrap.servers": kafka})
    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        for name, value in configs.items()
    ]
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=entries)
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(CONNECT_TIMEOUT_S)


def run_native(
    kafka: str,
    topic: str,
    partitions: int,
    work: Path,
    mode: str,
    rollouts: int,
) -> dict[str, Any]:
    """``rollouts`` rollouts of ``mode`` under steady load; the scenario's figures. Raises
    ``RuntimeError`` if a rollout does not finish (the benchmark then fails)."""
    log_dir = work / mode
    log_dir.mkdir()
    group = f"bench-{mode}-{uuid.uuid4().hex[:6]}"
    start_group_at_end(kafka, group, topic)
    _configure_group(kafka, group, MODES[mode][1])
    old = _Side([f"old-{i}" for i in range(INSTANCES_PER_VERSION)], "blue")
    new = _Side([f"new-{i}" for i in range(INSTANCES_PER_VERSION)], "green")
    tail = EventTail(log_dir)
    load = LoadProcess(kafka, topic, work / f"{mode}-acked.txt")
    switch_ms: list[float] = []
    starts: list[int] = []
    try:
        for side in (old, new):
            for name in side.names:
                options = {
                    "events": str(log_dir),
                    "mode": mode,
                    "group": group,
                    "topic": topic,
                    "kafka": kafka,
                    "instance": name,
                    "colour": side.colour,
                }
                command = [sys.executable, "-m", "bench.switch_native", "--child"]
                for option, value in options.items():
                    command += [f"--{option}", value]
                out = (work / f"{mode}-{name}.out").open("wb")
                side.processes[name] = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT
                )
                out.close()
        wait_for(lambda: old.ready(log_dir) and new.ready(log_dir), READY_TIMEOUT_S, "consumers")
        load.wait_started(READY_TIMEOUT_S)
        began = time.monotonic_ns()
        old.send("go")
        wait_for(
            lambda: switch_done_ns(tail.poll(), old.instances(), began, partitions) is not None,
            READY_TIMEOUT_S,
            "the first consumers",
        )
        for _ in range(rollouts):
            time.sleep(SETTLE_S)
            wait_for(partial(new.ready, log_dir), READY_TIMEOUT_S, "the new consumers to connect")
            started = time.monotonic_ns()
            new.send("go")
            joined = new.instances()

            def received(joined: set[str] = joined, started: int = started) -> bool:
                seen = {e.instance for e in tail.poll() if e.start_ns >= started}
                return joined <= seen

            wait_for(received, ROLLOUT_TIMEOUT_S, "the new consumers to receive partitions")
            old.send("leave")
            done: list[int] = []

            def consumed(
                joined: set[str] = joined, started: int = started, done: list[int] = done
            ) -> bool:
                at = switch_done_ns(tail.poll(), joined, started, partitions)
                if at is not None:
                    done.append(at)
                return at is not None

            wait_for(consumed, ROLLOUT_TIMEOUT_S, f"{mode}: the new consumers to take over")
            switch_ms.append((done[0] - started) / 1e6)
            starts.append(started)
            old.generation += 1
            old, new = new, old
        time.sleep(SETTLE_S)
        acked = load.stop()
        wait_for(lambda: tail.drained(acked), DRAIN_TIMEOUT_S, "every record to be processed")
        for side in (old, new):
            side.send("exit")
    finally:
        load.kill()
        stop_children([*old.processes.values(), *new.processes.values()], STOP_TIMEOUT_S)
    report = check(load.produced(), read_events(*log_dir.glob("events-*.jsonl")), planned_only=True)
    return scenario_result(switch_ms, acked, tail.poll(), report, starts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.switch_native")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    for name in ("events", "group", "topic", "kafka", "instance", "colour"):
        parser.add_argument(f"--{name}", required=True)
    return _child(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
