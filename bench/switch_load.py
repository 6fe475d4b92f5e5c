"""The switch benchmark's load, in a process of its own: keyed records at a steady rate,
and every acknowledgement with its produce call's and its arrival's time.

A busy process stamps acknowledgements late (the callback waits for the interpreter),
which shortens every measured wait: so the producer shares its process with nothing.
``python -m bench.switch_load --kafka K --topic T --out FILE`` produces until its stdin
says ``stop`` (or closes), then flushes and writes one line per acknowledged record to
FILE: ``partition offset produce_ns ack_ns value`` (``CLOCK_MONOTONIC``, which the
measuring process shares); FILE``.started`` appears with the first acknowledgement. It
exits 1 if records were never acknowledged or a delivery
failed. ``LoadProcess`` is the parent's side.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import KafkaError, Message, Producer

from bench.switch_measure import Acked
from turnout.verify import Produced

#: Steady keyed load: ~16 records/s per partition of 64, so "every partition consumed" is
#: observed within ~60 ms of being true, and the box is not saturated.
PRODUCE_RATE_PER_S = 1000
KEYS = 4096
#: How long the producer may take to have every record acknowledged once stopped.
FLUSH_TIMEOUT_S = 30.0
#: The parent's wait for the child to flush, write its file and exit.
STOP_TIMEOUT_S = FLUSH_TIMEOUT_S + 30.0
#: A fresh broker's group coordinator may take this long to load; retried this often.
GROUP_READY_TIMEOUT_S = 120.0
GROUP_RETRY_S = 0.5


def _produce(kafka: str, topic: str, rate_per_s: int, out: Path) -> int:
    producer = Producer({"bootstrap.servers": kafka, "enable.idempotence": True, "linger.ms": 5})
    sent_at: dict[str, int] = {}
    acked: list[tuple[int, int, int, int, str]] = []
    failed = 0

    def delivered(err: KafkaError | None, msg: Message) -> None:
        nonlocal failed
        at = time.monotonic_ns()
        if not acked:
            _started(out).touch()
        value = (msg.value() or b"").decode()
        sent = sent_at.pop(value, 0)
        partition, offset = msg.partition(), msg.offset()
        if err is not None or partition is None or offset is None:
            failed += 1
            return
        acked.append((partition, offset, sent, at, value))

    stop = threading.Event()

    def read_commands() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=read_commands, daemon=True).start()
    interval, next_at, sent = 1.0 / rate_per_s, time.monotonic(), 0
    while not stop.is_set():
        value = f"v-{uuid.uuid4().hex[:12]}-{sent}"
        sent_at[value] = time.monotonic_ns()
        producer.produce(
            topic, key=f"k-{sent % KEYS}".encode(), value=value.encode(), on_delivery=delivered
        )
        sent += 1
        producer.poll(0)
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
    remaining = producer.flush(FLUSH_TIMEOUT_S)
    with out.open("w", encoding="utf-8") as sink:
        for partition, offset, sent_ns, ack_ns, value in acked:
            sink.write(f"{partition} {offset} {sent_ns} {ack_ns} {value}\n")
    if remaining or failed:
        print(f"{remaining} records never acknowledged, {failed} failed", file=sys.stderr)
        return 1
    return 0


def _started(out: Path) -> Path:
    return out.with_name(out.name + ".started")


class LoadProcess:
    """The parent's side: start the producer process, stop it, read its acknowledgements."""

    def __init__(self, kafka: str, topic: str, out: Path) -> None:
        self._topic = topic
        self._out = out
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.switch_load",
                "--kafka",
                kafka,
                "--topic",
                topic,
                "--out",
                str(out),
            ],
            stdin=subprocess.PIPE,
        )
        self.acked: Acked = {}

    def wait_started(self, timeout_s: float) -> None:
        """Wait for the first acknowledgement (the producer's start-up is not load)."""
        deadline = time.monotonic() + timeout_s
        while not _started(self._out).exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the load's producer did not start")
            time.sleep(0.05)

    def stop(self) -> Acked:
        """Stop producing, wait for every acknowledgement; raises if any went missing."""
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(b"stop\n")
        stdin.close()
        if self._process.wait(STOP_TIMEOUT_S) != 0:
            raise RuntimeError("the load's producer lost records (see its stderr)")
        acked: Acked = {}
        for line in self._out.read_text(encoding="utf-8").splitlines():
            partition, offset, sent_ns, ack_ns, value = line.split(" ", 4)
            acked[(int(partition), int(offset))] = (value, int(sent_ns), int(ack_ns))
        self.acked = acked
        return acked

    def kill(self) -> None:
        """End the process if it still runs (a scenario that failed)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT_S)

    def produced(self) -> list[Produced]:
        return [
            Produced(topic=self._topic, partition=p, offset=o, key=None, value=v)
            for (p, o), (v, _, _) in sorted(self.acked.items())
        ]


def start_group_at_end(kafka: str, group: str, topic: str) -> None:
    """Start ``group`` at ``topic``'s end: earlier runs' records are not this run's."""
    # Imported here: the producer's own process needs none of the control plane.
    from turnout.controlplane.kafka_admin import KafkaAdmin, KafkaDownError, KafkaTarget

    admin = KafkaAdmin()
    target = KafkaTarget(kafka)
    tps = admin.partitions(target, [topic])
    deadline = time.monotonic() + GROUP_READY_TIMEOUT_S
    while True:
        try:
            admin.alter_committed(target, group, admin.end_offsets(target, tps))
            return
        except KafkaDownError:
            # A fresh broker answers "coordinator load in progress" for a few seconds.
            if time.monotonic() > deadline:
                raise
            time.sleep(GROUP_RETRY_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.switch_load")
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=PRODUCE_RATE_PER_S)
    args = parser.parse_args(argv)
    return _produce(args.kafka, args.topic, args.rate, args.out)


if __name__ == "__main__":
    sys.exit(main())
