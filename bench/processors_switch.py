"""The processors benchmark's switch scenario: blue/green switches of Turnout processors
under steady load, and the output judged with ``read_committed``.

One blue and one green agent (``processors_turnout_app``, each adding its colour to its
outputs) run the deployment with the given guarantee; blue is live. A producer thread
writes input records at ``LOAD_RATE_PER_S``. Each switch waits for the colour to switch
to to report ready (warm standby), flips the directive's roles through ZooKeeper (what
the control plane's switch writes), and is done when every partition has an output of
the new colour readable: ``switch_ms`` is from the directive's write to then. After the
last switch the load stops, every input's output is awaited (at most
``DRAIN_TIMEOUT_S``), and the output topic is judged (``processors_verify``).
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from bench.deployment import DEPLOYMENT
from bench.processors_data import PARTITIONS, input_value, key_of
from bench.processors_verify import judge, parse_output, read_outputs
from bench.processors_watch import OutputFollower
from bench.switch_measure import percentile
from turnout.devstack.process import stop_children
from turnout.protocol import Colour, DeploymentPaths, Directive, InstanceStatus, Role
from turnout.protocol.directives import DirectiveStore
from turnout.zk import ZkGateway, ZkNoNodeError

SWITCHES = 10
#: Steady load: enough that every partition has an output within milliseconds of its
#: new owner starting, little enough to leave the 2-core machine to the agents.
LOAD_RATE_PER_S = 2_000
#: Records flow under the new owner this long before the next switch.
SETTLE_S = 1.0
#: Bounds: a broken switch or a stuck agent must not hang the benchmark.
READY_TIMEOUT_S = 120.0
SWITCH_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
LOAD_FLUSH_TIMEOUT_S = 60.0
#: One committed-offsets request of the local stack takes milliseconds.
COMMITTED_TIMEOUT_S = 10.0
POLL_S = 0.02


class LoadThread:
    """Produces input records ``0, 1, ...`` at ``rate`` per second until stopped."""

    def __init__(self, bootstrap: str, topic: str, rate: int = LOAD_RATE_PER_S) -> None:
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5}
        )
        self._topic = topic
        self._rate = rate
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-load", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            i = self.sent
            self._producer.produce(
                self._topic, input_value(i), key_of(i).encode(), partition=i % PARTITIONS
            )
            self.sent += 1
            self._producer.poll(0)
            next_at += 1.0 / self._rate
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def stop(self) -> int:
        """Stop producing; how many records were written (all acknowledged, or raises)."""
        self._stop.set()
        self._thread.join()
        if self._producer.flush(LOAD_FLUSH_TIMEOUT_S):
            raise RuntimeError("the load's records were not all acknowledged")
        return self.sent

    def abandon(self) -> None:
        """Stop producing after a failed scenario (before its topic is deleted)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def every_partition_committed(bootstrap: str, group: str, topic: str) -> Callable[[], bool]:
    """Whether ``group`` has committed an offset on every partition of ``topic``: the live
    colour's first transaction on each input partition is behind it. Before it, a
    switch would measure the live colour's start-up (its first ``init_transactions`` of
    each id, which the release waits for), which a deployment that has been running
    has long finished."""
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def committed() -> bool:
        reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
        try:
            offsets = reader.committed(partitions, timeout=COMMITTED_TIMEOUT_S)
        except KafkaException:
            return False  # the group's coordinator is not ready yet: asked again
        finally:
            reader.close()
        return all(tp.offset > 0 for tp in offsets)

    return committed


class ColourWatcher(OutputFollower):
    """Follows the output topic: how many outputs, and when each partition's outputs
    changed colour (``CLOCK_MONOTONIC`` ns of the read)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic)
        self.seen = 0
        self._colour: dict[int, str] = {}
        self._changes: list[tuple[int, int, str]] = []
        self._lock = threading.Lock()

    def _read(self, messages: list[Message], now_ns: int) -> bool:
        with self._lock:
            for message in messages:
                partition = message.partition()
                assert partition is not None
                colour = parse_output(partition, message.value() or b"").processed_by
                self.seen += 1
                if self._colour.get(partition) != colour:
                    self._colour[partition] = colour
                    self._changes.append((now_ns, partition, colour))
        return False

    def all_partitions_since(self, colour: str, since_ns: int) -> int | None:
        """When every partition had an output of ``colour`` readable after ``since_ns``."""
        with self._lock:
            changes, current = list(self._changes), dict(self._colour)
        return switched_at(changes, current, colour, since_ns)


def switched_at(
    changes: list[tuple[int, int, str]], current: dict[int, str], colour: str, since_ns: int
) -> int | None:
    """When every partition's outputs had turned ``colour`` at or after ``since_ns``, from
    the ``(read_ns, partition, colour)`` changes of colour and each partition's ``current``
    colour; None while some partition has not. A partition that was already ``colour``
    before ``since_ns`` counts from ``since_ns``."""
    earliest: dict[int, int] = {}
    for at, partition, changed_to in changes:
        if changed_to == colour and at >= since_ns and partition not in earliest:
            earliest[partition] = at
    for partition, now_colour in current.items():
        if now_colour == colour and partition not in earliest:
            earliest[partition] = since_ns
    return max(earliest.values()) if len(earliest) == PARTITIONS else None


def instance_of(colour: str) -> str:
    """The name of ``colour``'s one agent."""
    return f"{colour}-1"


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def _ready(zk: ZkGateway, paths: DeploymentPaths, instance: str) -> bool:
    try:
        data, _ = zk.get(paths.status(instance))
    except ZkNoNodeError:
        return False
    return bool(InstanceStatus.from_bytes(data).ready)


def _live(colour: Colour) -> Callable[[Directive], Directive]:
    other = Colour.GREEN if colour is Colour.BLUE else Colour.BLUE
    return lambda d: d.model_copy(update={"roles": {colour: Role.LIVE, other: Role.STANDBY}})


@contextlib.contextmanager
def _agents(spawn: Callable[[str], subprocess.Popen[bytes]]) -> Iterator[None]:
    agents = [spawn(colour) for colour in ("blue", "green")]
    try:
        yield
    finally:
        stop_children(agents, STOP_TIMEOUT_S)


def run_switches(
    bootstrap: str,
    deployment_zookeeper: str,
    input_topic: str,
    output_topic: str,
    spawn: Callable[[str], subprocess.Popen[bytes]],
    group: str,
    switches: int = SWITCHES,
) -> dict[str, Any]:
    """Run the scenario on a deployment whose directive is in ``deployment_zookeeper``
    and whose live binding consumes under ``group``; ``spawn(colour)`` starts that
    colour's agent. The first switch waits for blue to have committed on every input
    partition (``every_partition_committed``)."""
    paths = DeploymentPaths("/turnout", DEPLOYMENT)
    zk = ZkGateway(deployment_zookeeper)
    zk.start()
    store = DirectiveStore(zk, paths)
    watcher = ColourWatcher(bootstrap, output_topic)
    watcher.start()
    load = LoadThread(bootstrap, input_topic)
    switch_ms: list[float] = []
    try:
        with _agents(spawn):
            load.start()
            _wait(
                lambda: watcher.all_partitions_since("blue", 0) is not None,
                READY_TIMEOUT_S,
                "blue's outputs",
            )
            _wait(
                every_partition_committed(bootstrap, group, input_topic),
                READY_TIMEOUT_S,
                "blue's first transaction on every input partition",
            )
            colour = Colour.BLUE
            for _ in range(switches):
                colour = Colour.GREEN if colour is Colour.BLUE else Colour.BLUE
                _wait(
                    partial(_ready, zk, paths, instance_of(colour.value)),
                    READY_TIMEOUT_S,
                    f"{colour.value} to be ready",
                )
                started = time.monotonic_ns()
                store.update(_live(colour))
                done: list[int] = []

                def switched(
                    c: Colour = colour, since: int = started, into: list[int] = done
                ) -> bool:
                    at = watcher.all_partitions_since(c.value, since)
                    if at is not None:
                        into.append(at)
                    return at is not None

                _wait(switched, SWITCH_TIMEOUT_S, f"the switch to {colour.value}")
                switch_ms.append((done[0] - started) / 1e6)
                time.sleep(SETTLE_S)
            total = load.stop()
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while watcher.seen < total and time.monotonic() < deadline:
                time.sleep(POLL_S)
    finally:
        load.abandon()
        watcher.stop()
        zk.stop()
    report = judge(total, read_outputs(bootstrap, output_topic))
    return {
        "switches": len(switch_ms),
        "switch_ms_p50": round(percentile(switch_ms, 50), 1),
        "switch_ms_p99": round(percentile(switch_ms, 99), 1),
        "switch_ms_max": round(max(switch_ms), 1),
        "switch_ms_samples": [round(ms, 1) for ms in switch_ms],
        "inputs": total,
        "load_rate_per_s": LOAD_RATE_PER_S,
        "output_duplicates": report.duplicates,
        "output_lost": report.lost,
        "output_out_of_order": report.out_of_order,
        "output_unexpected": report.unexpected,
        "outputs_by_colour": report.by_producer,
        "lost_examples": report.lost_examples,
        "duplicate_examples": report.duplicate_examples,
    }
