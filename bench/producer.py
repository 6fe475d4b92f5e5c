"""Producer benchmark: ``python -m bench.producer`` prints one JSON object.

One million 100-byte values (no key) to an 8-partition topic, from one thread, with the
same librdkafka configuration on every side (``ProducerConfig()``'s: idempotence,
``acks=all``, ``linger.ms=5``, a 100,000-message queue):

- ``turnout``: :class:`turnout.producer.Producer`, plain ``produce`` calls (no
  serializer, no future), its poller serving delivery reports and its metrics on;
- ``raw``: a confluent-kafka ``Producer`` in the idiomatic loop (``produce``; on
  ``BufferError`` ``poll`` and retry; ``poll(0)`` every 1,024 messages; ``flush``) with
  a delivery callback that counts acknowledgements and failures: the least a producer
  does that must know every message's fate, which is what turnout.producer guarantees;
- ``raw_fire_and_forget``: the same loop without a delivery callback, which never
  learns of a failed message: the ceiling for Python on this machine.

A figure is messages per second from the first ``produce`` to the end of ``flush`` (every
message acknowledged), the median over ``--rounds`` rounds; each round runs every side
back to back, so that a slow spell of a shared machine hits all of them. ``ratio`` is
the median of each round's ``turnout / raw``, ``ratio_fire_and_forget`` of
``turnout / raw_fire_and_forget``. ``*_cpu_us_per_msg`` is the process's CPU time per
message over the same span (all threads, librdkafka's included), and ``cpu_ratio*`` the
same comparisons in CPU time (``raw / turnout``, higher is better): on a machine shared
with other work the CPU figures move far less than the rates. Every side must have every
message acknowledged, or the run fails.

``--only SIDE`` runs one side (repeatable), for a profiler: instructions per message,
which no other load on the machine changes, are the difference between two runs under
``valgrind --tool=callgrind`` with ``--rounds 1`` and two ``--messages`` counts, divided
by the difference of the counts.

Kafka: ``--bootstrap`` (default ``TURNOUT_TEST_KAFKA`` or 127.0.0.1:9092). The topic is
fresh and deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message
from confluent_kafka import Producer as KafkaProducer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.producer import Producer, ProducerConfig

MESSAGES = 1_000_000
PARTITIONS = 8
VALUE = b"x" * 100
ROUNDS = 3
SIDES = ("turnout", "raw", "raw_fire_and_forget")
#: Flushing a million small messages takes seconds; a flush this long has failed.
FLUSH_TIMEOUT_S = 120.0
#: The raw loops' wait in ``poll`` when the queue is full (it returns at the first
#: delivery report), as confluent-kafka's examples do.
RAW_QUEUE_FULL_POLL_S = 0.05
#: Creating a topic on the local stack takes milliseconds; this long means it failed.
TOPIC_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Run:
    msgs_per_s: float
    #: Process CPU time (every thread, librdkafka's too) per message, in microseconds:
    #: steadier than the rate on a machine shared with other work.
    cpu_us_per_msg: float


class Clock:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def run(self, messages: int) -> Run:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        return Run(messages / wall, cpu / messages * 1e6)


def run_turnout(config: ProducerConfig, topic: str, messages: int) -> Run:
    with Producer(config) as producer:
        producer.send(topic, b"warm-up").result(FLUSH_TIMEOUT_S)
        produce = producer.produce
        clock = Clock()
        for _ in range(messages):
            produce(topic, VALUE)
        if producer.flush(FLUSH_TIMEOUT_S):
            raise RuntimeError("turnout: the flush timed out")
        run = clock.run(messages)
        stats = producer.stats.snapshot()
    if stats.acked != messages + 1 or stats.failed:
        raise RuntimeError(f"turnout: not every message was acknowledged: {stats}")
    return run


def run_raw(config: ProducerConfig, topic: str, messages: int, *, callback: bool) -> Run:
    outcomes = {"acked": 0, "failed": 0}

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        outcomes["acked" if error is None else "failed"] += 1

    settings = config.librdkafka_config()
    if callback:
        settings["on_delivery"] = on_delivery
    producer = KafkaProducer(settings)
    producer.produce(topic, b"warm-up")
    producer.flush(FLUSH_TIMEOUT_S)
    produce = producer.produce
    poll = producer.poll
    clock = Clock()
    for i in range(messages):
        while True:
            try:
                produce(topic, VALUE)
                break
            except BufferError:
                poll(RAW_QUEUE_FULL_POLL_S)
        if not i & 1023:
            poll(0)
    if producer.flush(FLUSH_TIMEOUT_S):
        raise RuntimeError("raw: the flush timed out")
    run = clock.run(messages)
    if callback and outcomes != {"acked": messages + 1, "failed": 0}:
        raise RuntimeError(f"raw: not every message was acknowledged: {outcomes}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092")
    )
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages per side")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="figures are medians over the rounds"
    )
    parser.add_argument(
        "--only",
        choices=SIDES,
        action="append",
        help="run only these sides (repeatable; e.g. one side under a profiler)",
    )
    args = parser.parse_args(argv)
    sides = [side for side in SIDES if side in set(args.only or SIDES)]
    config = ProducerConfig(bootstrap_servers=args.bootstrap, client_id="bench-producer")
    topic = f"bench-producer-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(TOPIC_TIMEOUT_S)
    runs: dict[str, Callable[[], Run]] = {
        "turnout": lambda: run_turnout(config, topic, args.messages),
        "raw": lambda: run_raw(config, topic, args.messages, callback=True),
        "raw_fire_and_forget": lambda: run_raw(config, topic, args.messages, callback=False),
    }
    results: dict[str, list[Run]] = {side: [] for side in sides}
    try:
        for _ in range(args.rounds):
            for side in sides:
                results[side].append(runs[side]())
    finally:
        admin.delete_topics([topic])[topic].result(TOPIC_TIMEOUT_S)
    result: dict[str, Any] = {
        "benchmark": "producer",
        "messages": args.messages,
        "partitions": PARTITIONS,
        "value_bytes": len(VALUE),
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
    }
    rates = {side: [run.msgs_per_s for run in results[side]] for side in sides}
    cpu = {side: [run.cpu_us_per_msg for run in results[side]] for side in sides}
    for side in sides:
        result[f"{side}_msgs_per_s"] = round(statistics.median(rates[side]))
    for peer, field in (("raw", "ratio"), ("raw_fire_and_forget", "ratio_fire_and_forget")):
        if "turnout" not in rates or peer not in rates:
            continue
        ratios = [mine / theirs for mine, theirs in zip(rates["turnout"], rates[peer], strict=True)]
        result[field] = round(statistics.median(ratios), 3)
        # The same comparison in CPU time: theirs / mine, so that higher is better too.
        cpu_ratios = [theirs / mine for mine, theirs in zip(cpu["turnout"], cpu[peer], strict=True)]
        result[f"cpu_{field}"] = round(statistics.median(cpu_ratios), 3)
    for side in sides:
        result[f"{side}_cpu_us_per_msg"] = round(statistics.median(cpu[side]), 3)
    for side in sides:
        result[f"{side}_msgs_per_s_rounds"] = [round(rate) for rate in rates[side]]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
