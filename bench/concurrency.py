"""Concurrency benchmark of the work manager: ``python -m bench.concurrency`` prints JSON.

An I/O-bound handler (it waits 5 ms), 4 partitions, 64 workers, 1,000 distinct keys:
``key`` ordering (sequential per key, concurrent across keys) against ``partition``
ordering (sequential per partition, so at most 4 handler calls at once). Both read the same
pre-filled topic, each through the real ``Agent`` (ZooKeeper ownership, commits) of a
deployment of its own whose processing settings (the directive's) say the ordering and
the workers. Records per second from the first record handled to the last; ``ratio`` is
key / partition.

Services: ``--bootstrap`` (default ``TURNOUT_TEST_KAFKA`` or 127.0.0.1:9092) and
``--zookeeper`` (default ``TURNOUT_TEST_ZK`` or 127.0.0.1:2181).
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
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench.deployment import DEPLOYMENT, bench_deployment
from turnout.agent import Agent, AgentConfig
from turnout.agent.records import Record
from turnout.protocol import Colour
from turnout.protocol.processing import Ordering, ProcessingSettings

PARTITIONS = 4
WORKERS = 64
KEYS = 1000
HANDLER_WAIT_S = 0.005
#: Partition mode does at most 4 x 200 records/s: 8,000 records take about 10 s there.
RECORDS = 8000
RUN_LIMIT_S = 300.0


def fill(bootstrap: str, topic: str, records: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for i in range(records):
        key = b"key-%04d" % (i % KEYS)
        # Keys spread over the partitions by the default partitioner, as in production.
        producer.produce(topic, key=key, value=b"x" * 100)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError("the topic could not be filled")


def measure(zookeeper: str, bootstrap: str, topic: str, records: int, ordering: Ordering) -> float:
    counter = itertools.count(1)
    times: dict[str, float] = {}
    done = threading.Event()

    def handler(_record: Record) -> None:
        time.sleep(HANDLER_WAIT_S)
        n = next(counter)
        if n == 1:
            times["first"] = time.perf_counter()
        if n == records:
            times["last"] = time.perf_counter()
            done.set()

    settings = ProcessingSettings(ordering=ordering.value, workers=WORKERS)
    with bench_deployment(zookeeper, topic, settings) as deployment:
        agent = Agent(
            AgentConfig(
                deployment=DEPLOYMENT,
                colour=Colour.BLUE,
                instance=f"conc-{ordering.value}",
                zookeeper=deployment.zookeeper,
                kafka=bootstrap,
            ),
            handler,
        ).start()
        try:
            if not done.wait(RUN_LIMIT_S):
                raise RuntimeError(f"{ordering.value} mode did not finish in {RUN_LIMIT_S} s")
            if agent.status().processing_version != settings.version:
                raise RuntimeError("the agent did not run the deployment's settings")
        finally:
            agent.stop(30)
    return records / (times["last"] - times["first"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092")
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--records", type=int, default=RECORDS)
    args = parser.parse_args(argv)
    topic = f"bench-concurrency-{uuid.uuid4().hex[:8]}"
    fill(args.bootstrap, topic, args.records)
    try:
        partition_mode = measure(
            args.zookeeper, args.bootstrap, topic, args.records, Ordering.PARTITION
        )
        key_mode = measure(args.zookeeper, args.bootstrap, topic, args.records, Ordering.KEY)
    finally:
        AdminClient({"bootstrap.servers": args.bootstrap}).delete_topics([topic])
    result: dict[str, Any] = {
        "benchmark": "concurrency",
        "records": args.records,
        "partitions": PARTITIONS,
        "workers": WORKERS,
        "keys": KEYS,
        "handler_wait_ms": HANDLER_WAIT_S * 1000,
        "cpu_count": os.cpu_count(),
        "loop": "the real agent, ordering and workers from the deployment's settings",
        "partition_mode_msgs_per_s": round(partition_mode, 1),
        "key_mode_msgs_per_s": round(key_mode, 1),
        "ratio": round(key_mode / partition_mode, 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
