"""Rebalance benchmark: ``python -m bench.rebalance`` prints one JSON object.

8 agents over a 64-partition topic under steady load (agents are threads of this
process; the SIGKILL victims are agent subprocesses). Measured:

- settle time after a member joins or leaves cleanly (``stop()``): from the start/stop
  call until every partition is owned again by the live members with the final
  (balanced) distribution: p50, p99, max in ms;
- partitions moved per join/leave, and the ownerless gap of every moved partition (from
  the old owner's release to the new owner's claim);
- takeover after SIGKILL of an owner process, next to the configured session timeout.

Times come from the agents' own claim/release callbacks (``AgentObserver``), taken at the
moment the owner node was created or was about to be deleted.

Services: ``--zookeeper``/``--kafka`` (default: ``TURNOUT_TEST_ZK``/``TURNOUT_TEST_KAFKA``,
else the local stack's default ports). Everything runs in a fresh ZooKeeper chroot and
topic, removed at the end.

Why this module is long: the scenarios (joins, leaves, kills) share one rig and one
JSON report, and read best as one script.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.agent import Agent, AgentConfig, Record
from turnout.agent.cli import build_config, run_until_signalled
from turnout.protocol import (
    Binding,
    Colour,
    DeploymentPaths,
    Directive,
    Ownership,
    Role,
    Strategy,
)
from turnout.protocol.directives import DirectiveStore
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkGateway, ZkNoNodeError

INSTANCES = 8
PARTITIONS = 64
SESSION_TIMEOUT_S = 4.0
FENCE_MARGIN_S = 1.0
LOAD_PER_S = 500
#: A settle that takes longer than this is a failure of the run, not a slow sample.
SETTLE_LIMIT_S = 30.0
DEPLOYMENT = "bench"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary(values_s: list[float]) -> dict[str, float | int]:
    ms = [v * 1000 for v in values_s]
    if not ms:
        return {"samples": 0}
    return {
        "samples": len(ms),
        "p50": round(statistics.median(ms), 1),
        "p99": round(_percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
    }


@dataclass
class Ledger:
    """Who owns what, from the agents' claim/release callbacks (any thread)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    owner: dict[PartitionId, str] = field(default_factory=dict)
    released_at: dict[PartitionId, float] = field(default_factory=dict)
    gaps: list[float] = field(default_factory=list)
    claims: int = 0
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def observer(self, instance: str) -> _Observer:
        return _Observer(self, instance)

    def snapshot(self) -> dict[PartitionId, str]:
        with self.lock:
            return dict(self.owner)

    def reset(self, owners: dict[PartitionId, str]) -> None:
        """Start over from ``owners`` (read from ZooKeeper), forgetting pending gaps."""
        with self.changed:
            self.owner = dict(owners)
            self.released_at.clear()
            self.gaps.clear()
            self.changed.notify_all()

    def forget_instance(self, instance: str) -> None:
        """A killed process cannot report its releases: its ownership ends now."""
        now = time.monotonic()
        with self.changed:
            for tp, who in list(self.owner.items()):
                if who == instance:
                    del self.owner[tp]
                    self.released_at[tp] = now
            self.changed.notify_all()

    def wait(self, predicate: Callable[[dict[PartitionId, str]], bool], timeout_s: float) -> float:
        """Block until ``predicate(owners)``; the monotonic time it first held."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while not predicate(self.owner):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"not settled within {timeout_s} s: {self.owner}")
                self.changed.wait(left)
            return time.monotonic()


class _Observer:
    def __init__(self, ledger: Ledger, instance: str) -> None:
        self._ledger = ledger
        self._instance = instance

    def claimed(self, group: str, topic: str, partition: int, epoch: int, start: int) -> None:
        now = time.monotonic()
        with self._ledger.changed:
            tp = (topic, partition)
            self._ledger.owner[tp] = self._instance
            self._ledger.claims += 1
            released = self._ledger.released_at.pop(tp, None)
            if released is not None:
                self._ledger.gaps.append(now - released)
            self._ledger.changed.notify_all()

    def released(
        self, group: str, topic: str, partition: int, epoch: int, committed: int | None
    ) -> None:
        with self._ledger.changed:
            tp = (topic, partition)
            if self._ledger.owner.get(tp) == self._instance:
                del self._ledger.owner[tp]
            self._ledger.released_at[tp] = time.monotonic()
            self._ledger.changed.notify_all()

    def committed(self, group: str, topic: str, partition: int, offset: int, epoch: int) -> None:
        return None

    def fenced(self, reason: str) -> None:
        return None


def settled(members: set[str], partitions: int) -> Callable[[dict[PartitionId, str]], bool]:
    """Every partition owned, by exactly ``members``, balanced to within one."""

    def check(owners: dict[PartitionId, str]) -> bool:
        if len(owners) != partitions or set(owners.values()) != members:
            return False
        counts = [list(owners.values()).count(m) for m in members]
        return max(counts) - min(counts) <= 1

    return check


class Bench:
    def __init__(self, zookeeper: str, kafka: str, strategy: Strategy) -> None:
        self.kafka = kafka
        self.chroot = f"/bench-{uuid.uuid4().hex[:8]}"
        self.server = zookeeper
        self.zookeeper = zookeeper + self.chroot
        self.topic = f"bench-{uuid.uuid4().hex[:8]}"
        self.group = f"bench-{uuid.uuid4().hex[:8]}"
        self.strategy = strategy
        self.ledger = Ledger()
        self.agents: dict[str, Agent] = {}
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.processed = 0
        self._count_lock = threading.Lock()
        self._stop_load = threading.Event()
        self.produced = 0
        self._next_id = 0

    # ---- setup --------------------------------------------------------------------------

    def setup(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.kafka})
        futures = admin.create_topics([NewTopic(self.topic, PARTITIONS, 1)])
        futures[self.topic].result(60)
        root = ZkGateway(self.server)
        root.start()
        root.ensure_path(self.chroot)
        root.stop()
        self.zk = ZkGateway(self.zookeeper)
        self.zk.start()
        DirectiveStore(self.zk, DeploymentPaths("/turnout", DEPLOYMENT)).create(
            Directive(
                epoch=1,
                deployment=DEPLOYMENT,
                live=Binding(group=self.group, topics=(self.topic,)),
                roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
                strategy=self.strategy,
            )
        )

    def teardown(self) -> None:
        self._stop_load.set()
        for agent in self.agents.values():
            agent.stop(15)
        for child in self.children.values():
            if child.poll() is None:
                child.kill()
            child.wait(10)
        self.zk.stop()
        root = ZkGateway(self.server)
        root.start()
        root.delete(self.chroot, recursive=True)
        root.stop()
        AdminClient({"bootstrap.servers": self.kafka}).delete_topics([self.topic])

    # ---- load ---------------------------------------------------------------------------

    def handler(self, record: Record) -> None:
        with self._count_lock:
            self.processed += 1

    def load(self) -> None:
        producer = Producer({"bootstrap.servers": self.kafka, "linger.ms": 5})
        interval = 1.0 / LOAD_PER_S
        next_at = time.monotonic()
        while not self._stop_load.is_set():
            producer.produce(self.topic, value=str(self.produced).encode())
            self.produced += 1
            producer.poll(0)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop_load.wait(delay)
        producer.flush(10)

    # ---- members ------------------------------------------------------------------------

    def config(self, instance: str) -> AgentConfig:
        return AgentConfig(
            deployment=DEPLOYMENT,
            colour=Colour.BLUE,
            instance=instance,
            zookeeper=self.zookeeper,
            kafka=self.kafka,
            session_timeout_s=SESSION_TIMEOUT_S,
            fence_margin_s=FENCE_MARGIN_S,
        )

    def new_name(self) -> str:
        self._next_id += 1
        return f"i{self._next_id:02d}"

    def start_agent(self, name: str) -> None:
        agent = Agent(self.config(name), self.handler, observer=self.ledger.observer(name))
        self.agents[name] = agent.start()

    def spawn(self, name: str) -> None:
        command = [
            sys.executable,
            "-m",
            "bench.rebalance",
            "--child",
            name,
            "--zookeeper",
            self.zookeeper,
            "--kafka",
            self.kafka,
        ]
        self.children[name] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def zk_owners(self) -> dict[PartitionId, str]:
        base = f"{DeploymentPaths('/turnout', DEPLOYMENT).owners}/{self.group}/{self.topic}"
        found: dict[PartitionId, str] = {}
        for name in self.zk.children(base):
            try:
                data, _ = self.zk.get(f"{base}/{name}")
            except ZkNoNodeError:
                continue
            found[(self.topic, int(name))] = Ownership.from_bytes(data).instance
        return found

    def members(self) -> set[str]:
        alive = {n for n, c in self.children.items() if c.poll() is None}
        return set(self.agents) | alive

    # ---- scenarios ----------------------------------------------------------------------

    def clean_cycles(self, cycles: int) -> dict[str, Any]:
        joins: list[float] = []
        leaves: list[float] = []
        moved_join: list[int] = []
        moved_leave: list[int] = []
        for _ in range(cycles):
            leaver = sorted(self.agents)[0]
            before = self.ledger.snapshot()
            started = time.monotonic()
            self.agents.pop(leaver).stop(15)
            done = self.ledger.wait(settled(self.members(), PARTITIONS), SETTLE_LIMIT_S)
            leaves.append(done - started)
            after = self.ledger.snapshot()
            moved_leave.append(sum(1 for tp in before if before[tp] != after.get(tp)))
            name = self.new_name()
            before = after
            started = time.monotonic()
            self.start_agent(name)
            done = self.ledger.wait(settled(self.members(), PARTITIONS), SETTLE_LIMIT_S)
            joins.append(done - started)
            after = self.ledger.snapshot()
            moved_join.append(sum(1 for tp in before if before[tp] != after.get(tp)))
        return {
            "settle_ms": _summary(joins + leaves),
            "join_settle_ms": _summary(joins),
            "leave_settle_ms": _summary(leaves),
            "partitions_moved_per_join": moved_join,
            "partitions_moved_per_leave": moved_leave,
        }

    def kills(self, count: int) -> dict[str, Any]:
        takeovers: list[float] = []
        moved: list[int] = []
        gaps: list[float] = []
        for _ in range(count):
            # Replace one in-process member by a subprocess, let it settle, kill it.
            leaver = sorted(self.agents)[0]
            self.agents.pop(leaver).stop(15)
            victim = self.new_name()
            self.spawn(victim)
            # The subprocess's claims are not observed here: read them from ZooKeeper.
            deadline = time.monotonic() + SETTLE_LIMIT_S + 30
            check = settled(self.members(), PARTITIONS)
            while not check(owners := self.zk_owners()):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"victim {victim} did not settle: {owners}")
                time.sleep(0.1)
            time.sleep(1.0)
            self.ledger.reset(self.zk_owners())
            owned = sum(1 for who in self.ledger.snapshot().values() if who == victim)
            killed = time.monotonic()
            self.children[victim].send_signal(signal.SIGKILL)
            self.children[victim].wait(10)
            self.ledger.forget_instance(victim)
            done = self.ledger.wait(
                settled(self.members(), PARTITIONS), SESSION_TIMEOUT_S + SETTLE_LIMIT_S
            )
            takeovers.append(done - killed)
            moved.append(owned)
            gaps.extend(self.ledger.gaps)  # kill -> survivor's claim, per victim partition
            self.ledger.gaps.clear()
            self.start_agent(self.new_name())
            self.ledger.wait(settled(self.members(), PARTITIONS), SETTLE_LIMIT_S)
            self.ledger.gaps.clear()
        return {
            "sigkill_takeover_ms": _summary(takeovers),
            "session_timeout_ms": SESSION_TIMEOUT_S * 1000,
            "partitions_moved_per_kill": moved,
            "ownerless_gap_after_sigkill_ms": _summary(gaps),
        }


def _child(name: str, zookeeper: str, kafka: str) -> int:
    logging.disable(logging.CRITICAL)
    config = build_config(
        deployment=DEPLOYMENT,
        colour="blue",
        instance=name,
        zookeeper=zookeeper,
        kafka=kafka,
        session_timeout_s=SESSION_TIMEOUT_S,
        fence_margin_s=FENCE_MARGIN_S,
    )
    return run_until_signalled(config, lambda record: None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--kafka", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092"))
    parser.add_argument("--strategy", default="sticky", choices=[s.value for s in Strategy])
    parser.add_argument("--cycles", type=int, default=10, help="clean leave+join cycles")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.zookeeper, args.kafka)
    logging.basicConfig(
        level=os.environ.get("TURNOUT_BENCH_LOG", "ERROR"),
        format="%(relativeCreated)8.0f %(threadName)s %(message)s",
    )
    bench = Bench(args.zookeeper, args.kafka, Strategy(args.strategy))
    bench.setup()
    loader = threading.Thread(target=bench.load, daemon=True)
    try:
        for _ in range(INSTANCES):
            bench.start_agent(bench.new_name())
        bench.ledger.wait(settled(bench.members(), PARTITIONS), SETTLE_LIMIT_S * 2)
        loader.start()
        time.sleep(2.0)  # steady state under load before measuring
        result: dict[str, Any] = {
            "benchmark": "rebalance",
            "instances": INSTANCES,
            "partitions": PARTITIONS,
            "strategy": args.strategy,
            "load_records_per_s": LOAD_PER_S,
            "session_timeout_s": SESSION_TIMEOUT_S,
            "fence_margin_s": FENCE_MARGIN_S,
            "cpu_count": os.cpu_count(),
            "agents": "threads in one process; SIGKILL victims are subprocesses",
        }
        result.update(bench.clean_cycles(args.cycles))
        result["ownerless_gap_per_moved_partition_ms"] = _summary(bench.ledger.gaps)
        bench.ledger.gaps.clear()
        result.update(bench.kills(args.kills))
        bench._stop_load.set()
        loader.join(15)
        time.sleep(1.0)
        result["records"] = {"produced": bench.produced, "processed": bench.processed}
    finally:
        bench.teardown()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
