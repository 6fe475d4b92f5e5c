"""Building blocks of the agent's integration tests and benchmark.

A ``World`` is one deployment in a test's own ZooKeeper chroot: one topic, one group, a
directive, a steady producer, agents (threads in this process or subprocesses) that log
every claim, release, commit and processed record to JSON lines, and the verify
toolkit's checker over all of it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Producer

from tests.support.waiting import wait_until as wait_until  # re-exported: tests import it from here
from turnout.agent import Agent, AgentConfig, Handler
from turnout.agent.environment import AgentEnvironment
from turnout.agent.observer import AgentObserver
from turnout.protocol import (
    Binding,
    Colour,
    DeploymentPaths,
    Directive,
    InstanceStatus,
    Ownership,
    Role,
    Strategy,
)
from turnout.protocol.directives import DirectiveStore, VersionedDirective
from turnout.protocol.partitions import PartitionId
from turnout.verify import (
    CheckReport,
    EventLog,
    ProducedLog,
    check,
    make_verifying_handler,
    read_history,
)
from turnout.zk import ZkGateway, ZkNoNodeError

DEPLOYMENT = "dep"
#: Short sessions keep crash tests fast; the fence margin leaves 3 s of silence before
#: an agent fences, one second before the server may expire it.
SESSION_TIMEOUT_S = 4.0
FENCE_MARGIN_S = 1.0
#: Steady load of the tests: enough to have records in flight at every handoff, little
#: enough for a 2-core box shared with others.
PRODUCE_RATE_PER_S = 300
REPO_ROOT = Path(__file__).resolve().parents[2]


class LoadProducer:
    """Produces unique values at a steady rate, logging acks.

    Without ``keys`` records are spread over every partition; with ``keys`` they cycle
    through that many keys (``k-0`` …), for per-key order checks.
    """

    def __init__(
        self,
        kafka: str,
        topic: str,
        log_dir: Path,
        rate_per_s: int,
        keys: int | None = None,
        client_config: Mapping[str, str] | None = None,
    ) -> None:
        """``client_config``: security settings on a secured cluster."""
        self._producer = Producer(
            {
                "bootstrap.servers": kafka,
                "enable.idempotence": True,
                "linger.ms": 5,
                **(client_config or {}),
            }
        )
        self._topic = topic
        self._log = ProducedLog(log_dir / f"produced-{os.getpid()}-{topic}.jsonl")
        #: Records per second; may be changed while it runs (a burst).
        self.rate_per_s = rate_per_s
        self._keys = keys
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-producer", daemon=True)
        self.sent = 0

    def start(self) -> LoadProducer:
        self._thread.start()
        return self

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            key = None if self._keys is None else f"k-{self.sent % self._keys}".encode()
            self._producer.produce(
                self._topic,
                key=key,
                value=f"v-{self.sent}".encode(),
                on_delivery=self._log.on_delivery,
            )
            self.sent += 1
            self._producer.poll(0)
            next_at += 1.0 / self.rate_per_s
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def stop(self) -> int:
        """Stop, flush, and return how many records were acknowledged."""
        self._stop.set()
        self._thread.join(timeout=10)
        remaining = self._producer.flush(30)
        assert remaining == 0, f"{remaining} records were never acknowledged"
        self._log.close()
        return self._log.acked_count


@dataclass
class Spawned:
    """An agent subprocess."""

    instance: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@dataclass
class World:
    zookeeper: str  # connect string with the test's chroot
    kafka: str
    topic: str
    group: str
    partitions: int
    log_dir: Path
    offset_store: str = "kafka"
    agents: dict[str, Agent] = field(default_factory=dict)
    spawned: dict[str, Spawned] = field(default_factory=dict)
    zk: ZkGateway | None = None
    event_log: EventLog | None = None
    #: Run after every agent stopped (what an agent's parts hold: a mirror's sync writer).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.paths = DeploymentPaths("/turnout", DEPLOYMENT)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # ---- ZooKeeper ----------------------------------------------------------------------

    def admin(self) -> ZkGateway:
        if self.zk is None:
            self.zk = ZkGateway(self.zookeeper, session_timeout_s=10.0)
            self.zk.start()
        return self.zk

    @property
    def directives(self) -> DirectiveStore:
        return DirectiveStore(self.admin(), self.paths)

    def create_directive(
        self, live: Colour = Colour.BLUE, strategy: Strategy = Strategy.RANGE, **extra: object
    ) -> VersionedDirective:
        other = Colour.GREEN if live is Colour.BLUE else Colour.BLUE
        directive = Directive.model_validate(
            {
                "epoch": 1,
                "deployment": DEPLOYMENT,
                "live": Binding(group=self.group, topics=(self.topic,)),
                "roles": {live: Role.LIVE, other: Role.STANDBY},
                "strategy": strategy,
                "drain_timeout_ms": 5000,
                **extra,
            }
        )
        return self.directives.create(directive)

    def update_directive(self, **changes: object) -> VersionedDirective:
        return self.directives.update(lambda d: d.model_copy(update=changes))

    def tp(self, partition: int) -> PartitionId:
        return (self.topic, partition)

    def owners(self) -> dict[PartitionId, Ownership]:
        zk = self.admin()
        base = f"{self.paths.owners}/{self.group}/{self.topic}"
        found: dict[PartitionId, Ownership] = {}
        try:
            names = zk.children(base)
        except ZkNoNodeError:
            return found
        for name in names:
            with contextlib.suppress(ZkNoNodeError):
                data, _ = zk.get(f"{base}/{name}")
                found[(self.topic, int(name))] = Ownership.from_bytes(data)
        return found

    def owner_map(self) -> dict[PartitionId, str]:
        return {tp: o.instance for tp, o in self.owners().items()}

    def balanced(self, members: set[str]) -> bool:
        """Every partition owned, by exactly ``members``, counts differing by at most one."""
        owners = list(self.owner_map().values())
        counts = [owners.count(m) for m in members]
        return (
            len(owners) == self.partitions
            and set(owners) == members
            and max(counts) - min(counts) <= 1
        )

    def all_owned(self, by: set[str] | None = None, epoch: int | None = None) -> bool:
        owners = self.owners()
        if len(owners) != self.partitions:
            return False
        if by is not None and {o.instance for o in owners.values()} != by:
            return False
        return epoch is None or all(o.epoch == epoch for o in owners.values())

    # ---- agents -------------------------------------------------------------------------

    def config(self, instance: str, colour: Colour = Colour.BLUE, **extra: object) -> AgentConfig:
        return AgentConfig.model_validate(
            {
                "deployment": DEPLOYMENT,
                "colour": colour,
                "instance": instance,
                "zookeeper": self.zookeeper,
                "kafka": self.kafka,
                "session_timeout_s": SESSION_TIMEOUT_S,
                "fence_margin_s": FENCE_MARGIN_S,
                "offset_store": self.offset_store,
                "commit_interval_s": 0.5,
                **extra,
            }
        )

    def start_agent(
        self,
        instance: str,
        colour: Colour = Colour.BLUE,
        work_s: float = 0.0,
        wrap: Callable[[Handler], Handler] | None = None,
        environment: AgentEnvironment | None = None,
        wrap_observer: Callable[[AgentObserver], AgentObserver] | None = None,
        **extra: object,
    ) -> Agent:
        """An agent in this process with the verifying handler (``wrap`` wraps it) and
        the event log as its observer (``wrap_observer`` wraps it)."""
        if self.event_log is None:
            self.event_log = EventLog(self.log_dir / f"events-{os.getpid()}.jsonl")
        handler: Handler = make_verifying_handler(
            self.event_log, instance, str(colour), work_s=work_s
        )
        if wrap is not None:
            handler = wrap(handler)
        observer: AgentObserver = self.event_log.bind(instance, colour)
        if wrap_observer is not None:
            observer = wrap_observer(observer)
        agent = Agent(
            self.config(instance, colour, **extra),
            handler,
            observer=observer,
            environment=environment,
        )
        self.agents[instance] = agent.start()
        return agent

    def spawn_agent(
        self, instance: str, colour: Colour = Colour.BLUE, work_s: float = 0.0
    ) -> Spawned:
        """An agent in its own process (``tests.support.agent_process``) for kill tests."""
        out = self.log_dir / f"agent-{instance}-{len(self.spawned)}.out"
        command = [
            sys.executable,
            "-m",
            "tests.support.agent_process",
            "--events",
            str(self.log_dir),
            "--work-s",
            str(work_s),
            "--deployment",
            DEPLOYMENT,
            "--colour",
            str(colour),
            "--instance",
            instance,
            "--zookeeper",
            self.zookeeper,
            "--kafka",
            self.kafka,
            "--session-timeout",
            str(SESSION_TIMEOUT_S),
            "--fence-margin",
            str(FENCE_MARGIN_S),
            "--offset-store",
            self.offset_store,
        ]
        with out.open("wb") as sink:
            process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        spawned = Spawned(instance, process, out)
        self.spawned[f"{instance}-{process.pid}"] = spawned
        return spawned

    def stop_all(self) -> None:
        for agent in self.agents.values():
            agent.stop(15)
        for spawned in self.spawned.values():
            with contextlib.suppress(Exception):
                spawned.terminate(15)
            spawned.kill()

    def close(self) -> None:
        self.stop_all()
        closers, self.closers = self.closers, []
        for close in closers:
            close()
        if self.event_log is not None:
            self.event_log.close()
        if self.zk is not None:
            self.zk.stop()
            self.zk = None

    # ---- load and verdict ---------------------------------------------------------------

    def producer(
        self, rate_per_s: int = PRODUCE_RATE_PER_S, keys: int | None = None
    ) -> LoadProducer:
        return LoadProducer(self.kafka, self.topic, self.log_dir, rate_per_s, keys).start()

    def instance_status(self, instance: str) -> InstanceStatus | None:
        """The instance's status znode, as the control plane reads it."""
        try:
            data, _ = self.admin().get(self.paths.status(instance))
        except ZkNoNodeError:
            return None
        return InstanceStatus.from_bytes(data)

    def check(self, planned_only: bool) -> CheckReport:
        if self.event_log is not None:
            self.event_log.close()
            self.event_log = None
        history = read_history(self.log_dir)
        return check(history.produced, history.events, planned_only=planned_only)

    def wait_drained(self, acked: int, timeout_s: float = 60.0) -> None:
        """Wait until every acknowledged record has been processed by someone."""
        wait_until(lambda: self.processed_count() >= acked, timeout_s, f"{acked} records processed")

    def processed_count(self) -> int:
        """Distinct records processed so far, from the event logs."""
        seen: set[tuple[int, int]] = set()
        for path in self.log_dir.glob("events-*.jsonl"):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if '"event":"processed"' in line and line.endswith("\n"):
                        partition = int(line.split('"partition":', 1)[1].split(",", 1)[0])
                        offset = int(line.split('"offset":', 1)[1].split(",", 1)[0])
                        seen.add((partition, offset))
        return len(seen)


@contextlib.contextmanager
def world(
    zookeeper: str,
    kafka: str,
    topic: str,
    group: str,
    partitions: int,
    log_dir: Path,
    offset_store: str = "kafka",
) -> Iterator[World]:
    w = World(zookeeper, kafka, topic, group, partitions, log_dir, offset_store)
    try:
        yield w
    finally:
        w.close()
