"""What one exactly-once processor's transactional producer costs, measured: threads,
resident memory and sockets of this process before and after ``count`` producers ran
``init_transactions`` and one committed transaction each.

    python scripts/measure_eos_producers.py --bootstrap 127.0.0.1:9092 --count 32

Prints one JSON object (totals and per producer). docs/processors.md gives the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

from confluent_kafka.admin import AdminClient, NewTopic

from turnout.producer import ProducerConfig, TransactionalProducer


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _sockets() -> int:
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--topic", default="measure-eos-producers")
    args = parser.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    if args.topic not in admin.list_topics(timeout=10).topics:
        admin.create_topics([NewTopic(args.topic, 1, 1)])[args.topic].result(30)
    del admin
    before = (_threads(), _rss_kib(), _sockets())
    run = uuid.uuid4().hex[:8]
    producers: list[TransactionalProducer] = []
    started = time.monotonic()
    for i in range(args.count):
        producer: TransactionalProducer = TransactionalProducer(
            ProducerConfig(bootstrap_servers=args.bootstrap), f"measure.{run}.{i}"
        )
        producer.init_transactions()
        producer.begin_transaction()
        producer.produce(args.topic, b"x", b"k")
        producer.commit_transaction()
        producers.append(producer)
    setup_s = time.monotonic() - started
    time.sleep(1.0)
    after = (_threads(), _rss_kib(), _sockets())
    for producer in producers:
        producer.close(5.0)
    count = args.count
    print(  # noqa: T201
        json.dumps(
            {
                "producers": count,
                "threads_per_producer": (after[0] - before[0]) / count,
                "rss_kib_per_producer": (after[1] - before[1]) / count,
                "sockets_per_producer": (after[2] - before[2]) / count,
                "init_and_first_commit_ms_per_producer": setup_s * 1000 / count,
            }
        )
    )


if __name__ == "__main__":
    main()
