"""Throughput benchmark of the work manager: ``python -m bench.throughput`` prints JSON.

One million 100-byte records over 8 partitions, a no-op handler, ``partition`` ordering
with commits, three consumers over the same topic in the same run (each its own group):

- ``raw``: a plain confluent-kafka loop (``consume`` batches, the handler called per
  message, offsets committed every 0.5 s): the ceiling for Python on this machine;
- ``agent``: the real ``Agent`` (ZooKeeper ownership, fencing, commits with metadata) with
  the work manager plugged in through ``dispatcher_factory``;
- ``assign_loop``: the work manager driven by the tests' plain ``assign()`` loop
  (tests/integration/work/loop.py), which shows the work manager's own cost apart from
  the agent's consume loop.

Figures are records per second from the first record handled to the last. ``ratio`` is
``agent_msgs_per_s / raw_msgs_per_s``.

Services: ``--bootstrap`` (default ``TURNOUT_TEST_KAFKA`` or 127.0.0.1:9092) and
``--zookeeper`` (default ``TURNOUT_TEST_ZK`` or 127.0.0.1:2181). Topics and the ZooKeeper
chroot are fresh and removed at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.integration.work.loop import AssignLoop
from turnout.agent import Agent, AgentConfig
from turnout.agent.dispatch import Record
from turnout.agent.work import Ordering, WorkConfig, WorkManager, work_manager_factory
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role
from turnout.protocol.directives import DirectiveStore
from turnout.zk import ZkGateway

RECORDS = 1_000_000
PARTITIONS = 8
VALUE = b"x" * 100
DEPLOYMENT = "bench"
#: A run that takes longer than this has failed, it is not a slow sample.
RUN_LIMIT_S = 600.0
COMMIT_INTERVAL_S = 0.5
WORK = WorkConfig(ordering=Ordering.PARTITION)
CONSUMERS = ("raw", "agent", "assign_loop")


def fill(bootstrap: str, topic: str, records: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(60)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "compression.type": "lz4",
        }
    )
    for i in range(records):
        while True:
            try:
                producer.produce(topic, VALUE, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise RuntimeError("the topic could not be filled")


class Clock:
    """Records handled, and when the first and the last were."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._counter = itertools.count(1)
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.done = threading.Event()

    def tick(self, _record: object = None) -> None:
        # next() on itertools.count is atomic under the GIL: exact with many workers.
        self.count = next(self._counter)
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count == self.target:
            self.last = time.perf_counter()
            self.done.set()

    def rate(self) -> float:
        return self.target / (self.last - self.first)


def run_raw(bootstrap: str, topic: str, records: int) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])

    def handler(_message: object) -> None:
        return None

    count = 0
    first = 0.0
    last_commit = time.monotonic()
    deadline = time.monotonic() + RUN_LIMIT_S
    while count < records:
        if time.monotonic() > deadline:
            raise RuntimeError("the raw loop did not finish")
        messages = consumer.consume(1000, 0.05)
        if messages and not first:
            first = time.perf_counter()
        for message in messages:
            handler(message)
        count += len(messages)
        if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
            last_commit = time.monotonic()
            consumer.commit(asynchronous=True)
    consumer.commit(asynchronous=False)
    elapsed = time.perf_counter() - first
    consumer.close()
    return records / elapsed


def run_assign_loop(bootstrap: str, topic: str, records: int) -> float:
    clock = Clock(records)
    manager = WorkManager(WORK, handler=clock.tick)
    loop = AssignLoop(
        bootstrap, f"loop-{uuid.uuid4().hex[:8]}", [(topic, p) for p in range(PARTITIONS)], manager
    )
    loop.open()
    try:
        loop.run(clock.done.is_set, RUN_LIMIT_S)
    finally:
        loop.close()
    return clock.rate()


def run_agent(zookeeper: str, bootstrap: str, topic: str, records: int) -> float:
    chroot = f"/bench-{uuid.uuid4().hex[:8]}"
    root = ZkGateway(zookeeper)
    root.start()
    root.ensure_path(chroot)
    zk = ZkGateway(zookeeper + chroot)
    zk.start()
    group = f"agent-{uuid.uuid4().hex[:8]}"
    DirectiveStore(zk, DeploymentPaths("/turnout", DEPLOYMENT)).create(
        Directive(
            epoch=1,
            deployment=DEPLOYMENT,
            live=Binding(group=group, topics=(topic,)),
            roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        )
    )
    clock = Clock(records)
    handler: Callable[[Record], None] = clock.tick
    agent = Agent(
        AgentConfig(
            deployment=DEPLOYMENT,
            colour=Colour.BLUE,
            instance="bench-1",
            zookeeper=zookeeper + chroot,
            kafka=bootstrap,
        ),
        handler,
        dispatcher_factory=work_manager_factory(WORK),
    )
    agent.start()
    try:
        if not clock.done.wait(RUN_LIMIT_S):
            raise RuntimeError(f"the agent handled {clock.count} of {records} records")
    finally:
        agent.stop(30)
        zk.stop()
        root.delete(chroot, recursive=True)
        root.stop()
    return clock.rate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092")
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument(
        "--records", type=int, default=RECORDS, help="records in the topic (for quicker trials)"
    )
    parser.add_argument(
        "--only",
        choices=CONSUMERS,
        action="append",
        help="run only these consumers (repeatable; default: all, which the ratio needs)",
    )
    args = parser.parse_args(argv)
    only = set(args.only or CONSUMERS)
    topic = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    fill(args.bootstrap, topic, args.records)
    rates: dict[str, float] = {}
    try:
        if "raw" in only:
            rates["raw"] = run_raw(args.bootstrap, topic, args.records)
        if "agent" in only:
            rates["agent"] = run_agent(args.zookeeper, args.bootstrap, topic, args.records)
        if "assign_loop" in only:
            rates["assign_loop"] = run_assign_loop(args.bootstrap, topic, args.records)
    finally:
        AdminClient({"bootstrap.servers": args.bootstrap}).delete_topics([topic])
    result: dict[str, Any] = {
        "benchmark": "throughput",
        "records": args.records,
        "partitions": PARTITIONS,
        "value_bytes": len(VALUE),
        "ordering": WORK.ordering.value,
        "workers": WORK.workers,
        "cpu_count": os.cpu_count(),
    }
    for name, rate in rates.items():
        result[f"{name}_msgs_per_s"] = round(rate)
    raw = rates.get("raw")
    if raw:
        if "agent" in rates:
            result["ratio"] = round(rates["agent"] / raw, 3)
        if "assign_loop" in rates:
            result["assign_loop_ratio"] = round(rates["assign_loop"] / raw, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
