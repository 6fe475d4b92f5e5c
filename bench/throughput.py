"""Throughput benchmark of the work manager: ``python -m bench.throughput`` prints JSON.

One million 100-byte records over 8 partitions, a no-op handler, ``partition`` ordering
with commits; every consumer reads the same topic in the same run (each its own group):

- ``raw``: a plain confluent-kafka loop (``consume`` batches of ``POLL_BATCH``, as the
  agent polls; async commits every 0.5 s): the ceiling for Python on this machine;
- ``agent``: the real ``Agent`` (ZooKeeper ownership, fencing, commits with metadata) with
  the work manager plugged in through ``dispatcher_factory``, default ``WorkConfig``;
- ``cli_agent``: ``turnout agent run bench.cli_agent:no_op`` in a process of its own,
  its work manager driven by the deployment's processing settings in the directive (the
  same configuration, said on the wire); its count read from its metrics endpoint;
- ``assign_loop`` (diagnostic, ``--only assign_loop``): the work manager driven by the
  tests' plain ``assign()`` loop (bench/assign_loop.py).

Two handler shapes, the same no-op function on both sides: ``message`` (called per
record; the raw loop's gets each ``Message``, the agent's each ``Record``) and ``batch``
(the raw loop's gets each ``consume`` list, the agent's batch handler each batch of up to
``batch_size`` records). The agent's completions are read from the manager every
millisecond, so its handler does nothing the raw loop's does not.

The benchmark's own process (the raw loop and the embedded agent) spaces its young
garbage collections as ``turnout agent run`` spaces the CLI agent's
(``turnout.agent.heap.space_young_collections``): every side runs under the same
collector settings, so a ratio measures the agent, not the collector.

Figures are records per second from the first record handled to the last, the median over
``--rounds`` rounds; each round runs every consumer back to back. ``ratio`` (per message)
and ``batch_ratio`` are the medians of each round's ``agent / raw``; ``cli_agent_ratio``
and ``cli_batch_ratio`` the same for the CLI agent.

Services: ``--bootstrap`` (default ``TURNOUT_TEST_KAFKA`` or 127.0.0.1:9092) and
``--zookeeper`` (default ``TURNOUT_TEST_ZK`` or 127.0.0.1:2181). Topics and the ZooKeeper
chroot are fresh and removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench.assign_loop import AssignLoop
from bench.cli_agent import run_cli_agent
from bench.completion import Completion
from bench.deployment import DEPLOYMENT, bench_deployment
from bench.throughput_setup import PARTITIONS, RUN_LIMIT_S, WORK
from turnout.agent import Agent, AgentConfig
from turnout.agent.heap import space_young_collections
from turnout.agent.kafka_source import POLL_BATCH
from turnout.agent.work import WorkManager, work_manager_factory
from turnout.protocol import Colour

RECORDS = 1_000_000
VALUE = b"x" * 100
COMMIT_INTERVAL_S = 0.5
CONSUMERS = ("raw", "agent", "cli_agent", "assign_loop")
#: ``assign_loop`` is a diagnostic (``--only assign_loop``), not part of the ratios.
DEFAULT_CONSUMERS = ("raw", "agent", "cli_agent")
ROUNDS = 3
#: The handler is called once per message, or once per batch (the agent's batch handler
#: gets up to ``batch_size`` consecutive records of a partition; the raw loop's gets the
#: list ``consume`` returned).
SHAPES = ("message", "batch")


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


def _no_op(_unit: object) -> None:
    """The handler on every side: per message, or per batch (a list or a run of records)."""
    return None


def run_raw(bootstrap: str, topic: str, records: int, shape: str) -> float:
    """The plain loop: ``consume`` batches of ``POLL_BATCH`` (as the agent polls), the
    handler called per message or once per consumed batch, async commits every 0.5 s."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    handler = _no_op
    per_message = shape == "message"
    count = 0
    first = 0.0
    last_commit = time.monotonic()
    deadline = time.monotonic() + RUN_LIMIT_S
    while count < records:
        if time.monotonic() > deadline:
            raise RuntimeError("the raw loop did not finish")
        messages = consumer.consume(POLL_BATCH, 0.05)
        if not messages:
            continue
        if not first:
            first = time.perf_counter()
        if per_message:
            for message in messages:
                handler(message)
        else:
            handler(messages)
        count += len(messages)
        if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
            last_commit = time.monotonic()
            consumer.commit(asynchronous=True)
    elapsed = time.perf_counter() - first
    consumer.commit(asynchronous=False)
    consumer.close()
    return records / elapsed


def run_assign_loop(bootstrap: str, topic: str, records: int, shape: str) -> float:
    manager = _manager(shape)
    completion = Completion(records, manager.processed_total)
    loop = AssignLoop(
        bootstrap, f"loop-{uuid.uuid4().hex[:8]}", [(topic, p) for p in range(PARTITIONS)], manager
    )
    loop.open()
    completion.start()
    try:
        loop.run(completion.done.is_set, RUN_LIMIT_S)
    finally:
        completion.stop()
        loop.close()
    return completion.rate()


def _manager(shape: str) -> WorkManager:
    if shape == "message":
        return WorkManager(WORK, handler=_no_op)
    return WorkManager(WORK, batch_handler=_no_op)


def run_agent(zookeeper: str, bootstrap: str, topic: str, records: int, shape: str) -> float:
    built: list[WorkManager] = []
    with bench_deployment(zookeeper, topic) as deployment:
        agent = Agent(
            AgentConfig(
                deployment=DEPLOYMENT,
                colour=Colour.BLUE,
                instance="bench-1",
                zookeeper=deployment.zookeeper,
                kafka=bootstrap,
            ),
            _no_op,
            dispatcher_factory=work_manager_factory(
                WORK, batch_handler=_no_op if shape == "batch" else None, on_built=built.append
            ),
        )
        agent.start()
        completion = Completion(records, lambda: built[0].processed_total() if built else 0)
        completion.start()
        try:
            if not completion.done.wait(RUN_LIMIT_S):
                raise RuntimeError(f"the agent handled {completion.seen} of {records} records")
        finally:
            completion.stop()
            agent.stop(30)
    return completion.rate()


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
        help="run only these consumers (repeatable; default: raw and agent, the ratios)",
    )
    parser.add_argument(
        "--handler",
        choices=SHAPES,
        action="append",
        help="handler shapes to run (repeatable; default: both)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help="rounds of every consumer; figures are medians over the rounds",
    )
    args = parser.parse_args(argv)
    space_young_collections()
    only = [c for c in CONSUMERS if c in set(args.only or DEFAULT_CONSUMERS)]
    shapes = [s for s in SHAPES if s in set(args.handler or SHAPES)]
    topic = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    fill(args.bootstrap, topic, args.records)
    #: name -> one rate per round ("agent", "raw_batch", ...).
    rates: dict[str, list[float]] = {}
    try:
        # Round by round, shape by shape, each consumer right after the raw loop it is
        # compared with: a slow spell of this shared machine hits both of a pair.
        for _ in range(args.rounds):
            for shape in shapes:
                suffix = "" if shape == "message" else "_batch"
                for consumer in only:
                    if consumer == "raw":
                        rate = run_raw(args.bootstrap, topic, args.records, shape)
                    elif consumer == "agent":
                        rate = run_agent(args.zookeeper, args.bootstrap, topic, args.records, shape)
                    elif consumer == "cli_agent":
                        rate = run_cli_agent(
                            args.zookeeper, args.bootstrap, topic, args.records, shape
                        )
                    else:
                        rate = run_assign_loop(args.bootstrap, topic, args.records, shape)
                    rates.setdefault(consumer + suffix, []).append(rate)
    finally:
        AdminClient({"bootstrap.servers": args.bootstrap}).delete_topics([topic])
    result: dict[str, Any] = {
        "benchmark": "throughput",
        "records": args.records,
        "partitions": PARTITIONS,
        "value_bytes": len(VALUE),
        "ordering": WORK.ordering.value,
        "workers": WORK.workers,
        "batch_size": WORK.batch_size,
        "poll_batch": POLL_BATCH,
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
        "gc_thresholds": list(gc.get_threshold()),
    }
    for name, series in rates.items():
        result[f"{name}_msgs_per_s"] = round(statistics.median(series))
    for name, series in rates.items():
        result[f"{name}_msgs_per_s_rounds"] = [round(rate) for rate in series]
    for suffix in ("", "_batch"):
        raw = rates.get("raw" + suffix)
        if not raw:
            continue
        for consumer, field in (
            ("agent", "ratio"),
            ("cli_agent", "cli_agent_ratio"),
            ("assign_loop", "assign_loop_ratio"),
        ):
            mine = rates.get(consumer + suffix)
            if not mine:
                continue
            name = field if not suffix else f"{consumer}_batch_ratio".replace("agent_", "", 1)
            if consumer == "agent" and suffix:
                name = "batch_ratio"
            # The median of each round's ratio: a pair ran back to back, so the ratio is
            # steadier than either rate.
            per_round = [m / r for m, r in zip(mine, raw, strict=True)]
            result[name] = round(statistics.median(per_round), 3)
            result[name + "_rounds"] = [round(x, 3) for x in per_round]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
