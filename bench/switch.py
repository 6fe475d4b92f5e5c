"""Switch benchmark: ``python -m bench.switch`` prints one JSON object.

Same broker, same topic (64 partitions), steady keyed load, 4 instances per version:

- ``turnout``: 4 blue + 4 green agent processes (warm standby) and a control plane (in
  this process); 20 switches through the REST API, alternating colours.
- ``kafka_eager`` / ``kafka_cooperative`` / ``kafka_consumer_protocol``: the Kafka-native
  way to ship a new version of a consumer: 4 consumers of the old version in one group,
  then 4 new ones join the same group, then the 4 old ones leave (``close()``). With the
  classic protocol and eager range assignment, with cooperative-sticky, and with the
  KIP-848 consumer protocol (``group.protocol=consumer``). The new processes are started
  beforehand and only subscribe when told (as Turnout's standby colour is warm), so
  neither side pays Python's start-up.

Fields per scenario:

- ``switch_ms_p50`` / ``switch_ms_p99``: from the API call (native: the new consumers'
  subscribe) until every partition has had a record processed by the new version.
- ``gap_ms_max``: the longest time any partition went without being processed while a
  record waited (a record waits from when the broker acknowledged it, or from when the
  previous record of its partition finished, whichever is later).
  ``gap_ms_max_from_send`` counts from the producer's ``produce()`` call instead, so it
  also charges the producer's batching (``linger.ms`` 5) and any broker stall on the
  produce path to the consumers; it is shown for comparison with earlier figures.
- ``duplicates`` (records processed more than once) and ``lost`` (acknowledged records
  never processed), from the verify toolkit's checker over the JSON-lines history.

``gap_ratio_best_native``: the best native ``gap_ms_max`` divided by Turnout's.
``turnout.api_ms_p50``: how long the switch call itself took (the directive is written
before it answers).

``--keep DIR`` keeps the event logs and the switch start marks in ``DIR``;
``python -m bench.switch_gaps DIR`` then shows where each handover's time went.

Services: ``--zookeeper``/``--kafka`` (default: ``TURNOUT_TEST_ZK``/``TURNOUT_TEST_KAFKA``,
else the local stack's default ports). Everything runs in a fresh ZooKeeper chroot and
a fresh topic; every process started here is stopped at the end.

Why this module is long: a benchmark run is read top to bottom as one script (its
scenarios, their child processes and the JSON they add up to), and its child-process
entry points must live in the module the parent re-runs with ``--child``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.agent.records import Record
from turnout.controlplane.app import create_app
from turnout.controlplane.db import make_engine, make_sessionmaker, migrate
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.tokens import create_token
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.devstack.process import free_port, stop_children
from turnout.verify import CheckReport, EventLog, Processed, Produced, check, read_events
from turnout.zk import ZkGateway

PARTITIONS = 64
INSTANCES_PER_VERSION = 4
TURNOUT_SWITCHES = 20
NATIVE_RUNS = 3
#: Steady keyed load: ~16 records/s per partition, so "every partition consumed" is
#: observed within ~60 ms of being true, and the box is not saturated.
PRODUCE_RATE_PER_S = 1000
KEYS = 4096
#: Pause between switches (records flow under the new owner before the next one).
SETTLE_S = 1.0
#: Bounds: a broken switch or rebalance must not hang the benchmark.
SWITCH_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
#: How often the orchestration polls logs or the API.
POLL_S = 0.05


# ---- load -------------------------------------------------------------------------------


class KeyedLoad:
    """Keyed records at a steady rate; acknowledged records with their produce time."""

    def __init__(self, kafka: str, topic: str, rate_per_s: int = PRODUCE_RATE_PER_S) -> None:
        self._producer = Producer(
            {"bootstrap.servers": kafka, "enable.idempotence": True, "linger.ms": 5}
        )
        self._topic = topic
        self._rate = rate_per_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-load", daemon=True)
        self._lock = threading.Lock()
        #: (partition, offset) -> (value, produce call, acknowledgement), CLOCK_MONOTONIC ns
        self.acked: dict[tuple[int, int], tuple[str, int, int]] = {}
        self.failed = 0
        self._sent_at: dict[str, int] = {}

    def start(self) -> KeyedLoad:
        self._thread.start()
        return self

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        acked = time.monotonic_ns()
        value = (msg.value() or b"").decode()
        sent = self._sent_at.pop(value, 0)
        if err is not None:
            self.failed += 1
            return
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None
        with self._lock:
            self.acked[(partition, offset)] = (value, sent, acked)

    def _run(self) -> None:
        interval, next_at, sent = 1.0 / self._rate, time.monotonic(), 0
        while not self._stop.is_set():
            value = f"v-{uuid.uuid4().hex[:12]}-{sent}"
            self._sent_at[value] = time.monotonic_ns()
            self._producer.produce(
                self._topic,
                key=f"k-{sent % KEYS}".encode(),
                value=value.encode(),
                on_delivery=self._delivered,
            )
            sent += 1
            self._producer.poll(0)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        remaining = self._producer.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} records were never acknowledged")

    def produced(self, topic: str) -> list[Produced]:
        return [
            Produced(topic=topic, partition=p, offset=o, key=None, value=v)
            for (p, o), (v, _, _) in sorted(self.acked.items())
        ]


# ---- measurements (pure) ----------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def first_copies(events: list[Processed]) -> dict[tuple[int, int], Processed]:
    first: dict[tuple[int, int], Processed] = {}
    for event in sorted(events, key=lambda e: e.start_ns):
        first.setdefault((event.partition, event.offset), event)
    return first


def gap_ms_max(
    acked: dict[tuple[int, int], tuple[str, int, int]],
    events: list[Processed],
    switch_starts: list[int],
    *,
    from_send: bool = False,
) -> float:
    """Longest wait of a ready record (see module docstring) from the first switch on, in ms.

    A wait counts only from the start of the latest switch before it ended, so queueing
    from before the first switch (a native group's first join, say) is not charged to it.
    """
    first = first_copies(events)
    starts = sorted(switch_starts)
    by_partition: defaultdict[int, list[int]] = defaultdict(list)
    for partition, offset in first:
        by_partition[partition].append(offset)
    worst = 0
    for partition, offsets in by_partition.items():
        previous_end: int | None = None
        for offset in sorted(offsets):
            copy = first[(partition, offset)]
            window = bisect.bisect_right(starts, copy.start_ns)
            times = acked.get((partition, offset))
            produced_at = copy.start_ns if times is None else times[1 if from_send else 2]
            if window:
                ready = max(produced_at, starts[window - 1], previous_end or 0)
                worst = max(worst, copy.start_ns - ready)
            previous_end = copy.end_ns
    return worst / 1e6


def switch_done_ns(
    events: list[Processed], new: set[str], since_ns: int, partitions: int
) -> int | None:
    """When every partition had a record processed by an instance in ``new`` after
    ``since_ns``; None if some partition has not yet."""
    earliest: dict[int, int] = {}
    for event in events:
        if event.instance in new and event.start_ns >= since_ns:
            current = earliest.get(event.partition)
            if current is None or event.start_ns < current:
                earliest[event.partition] = event.start_ns
    if len(earliest) < partitions:
        return None
    return max(earliest.values())


def scenario_result(
    switch_ms: list[float],
    load: KeyedLoad,
    events: list[Processed],
    report: CheckReport,
    switch_starts: list[int],
) -> dict[str, Any]:
    return {
        "switches": len(switch_ms),
        "switch_ms_p50": round(percentile(switch_ms, 50), 1),
        "switch_ms_p99": round(percentile(switch_ms, 99), 1),
        "gap_ms_max": round(gap_ms_max(load.acked, events, switch_starts), 1),
        "gap_ms_max_from_send": round(
            gap_ms_max(load.acked, events, switch_starts, from_send=True), 1
        ),
        "duplicates": report.duplicates.extra_copies,
        "lost": report.lost.count,
        "acked": report.acked,
        "checker_ok": report.ok,
        "checker_failures": report.failures,
    }


# ---- child processes --------------------------------------------------------------------


def _agent_child(args: argparse.Namespace) -> int:
    """A Turnout agent (the CLI's code path) with the verifying handler and event log."""
    from turnout.agent import logs
    from turnout.agent.cli import build_config, run_until_signalled
    from turnout.verify import make_verifying_handler

    config = build_config(
        deployment=args.deployment,
        colour=args.colour,
        instance=args.instance,
        zookeeper=args.zookeeper,
        kafka=args.kafka,
    )
    logs.configure("WARNING", json_lines=True)
    with EventLog.in_directory(Path(args.events)) as log:
        handler = make_verifying_handler(log, args.instance, args.colour)
        return run_until_signalled(
            config,
            handler,
            stop_timeout_s=STOP_TIMEOUT_S,
            observer=log.bind(args.instance, args.colour),
        )


def _native_child(args: argparse.Namespace) -> int:
    """A plain confluent-kafka consumer: waits for ``go`` on stdin, subscribes, consumes
    (logging every record like the verifying handler), commits every 200 ms and on
    revocation, and leaves the group cleanly on ``stop``."""
    conf: dict[str, Any] = {
        "bootstrap.servers": args.kafka,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "log_level": 3,
    }
    if args.mode == "kafka_eager":
        conf["partition.assignment.strategy"] = "range"
    elif args.mode == "kafka_cooperative":
        conf["partition.assignment.strategy"] = "cooperative-sticky"
    else:
        conf["group.protocol"] = "consumer"
    stop = threading.Event()
    go = threading.Event()

    def read_commands() -> None:
        for line in sys.stdin:
            if line.strip() == "go":
                go.set()
            elif line.strip() == "stop":
                stop.set()
                go.set()
                return
        stop.set()
        go.set()

    threading.Thread(target=read_commands, daemon=True).start()
    go.wait()
    if stop.is_set():
        return 0
    consumer = Consumer(conf)
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

    consumer.subscribe([args.topic], on_revoke=on_revoke, on_lost=on_lost)
    last_commit = time.monotonic()
    with EventLog.in_directory(Path(args.events)) as log:
        events = log.bind(args.instance, args.colour)
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is not None and msg.error() is None:
                start = time.monotonic_ns()
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                assert topic is not None and partition is not None and offset is not None
                record = Record(
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=msg.key(),
                    value=msg.value(),
                    headers=(),
                    timestamp_ms=0,
                    epoch=0,
                )
                events.processed(record, start, time.monotonic_ns())
                positions[(topic, partition)] = offset + 1
            if time.monotonic() - last_commit > 0.2:
                commit(None, asynchronous=True)
                last_commit = time.monotonic()
        commit(None, asynchronous=False)
        consumer.close()  # leaves the group: the classic protocol rebalances at once
    return 0


# ---- orchestration ----------------------------------------------------------------------


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


class _Tail:
    """Incremental reader of the ``processed`` lines of a log directory: polling must not
    re-parse whole logs (that would steal the CPU the consumers are measured on)."""

    def __init__(self, log_dir: Path) -> None:
        self._dir = log_dir
        self._offsets: dict[Path, int] = {}
        self.events: list[Processed] = []
        self.seen: set[tuple[int, int]] = set()

    def poll(self) -> list[Processed]:
        for path in sorted(self._dir.glob("events-*.jsonl")):
            start = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(start)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = start + len(complete)
            for line in complete.splitlines():
                if b'"event":"processed"' in line:
                    data = json.loads(line)
                    self.events.append(
                        Processed(**{k: data[k] for k in _PROCESSED_FIELDS if k in data})
                    )
                    self.seen.add((data["partition"], data["offset"]))
        return self.events


_PROCESSED_FIELDS = (
    "instance", "colour", "pid", "ts", "mono_ns", "topic", "partition", "offset", "key",
    "value", "epoch", "start_ns", "end_ns",
)  # fmt: skip
_TAILS: dict[Path, _Tail] = {}


def _processed(log_dir: Path) -> list[Processed]:
    tail = _TAILS.setdefault(log_dir, _Tail(log_dir))
    return tail.poll()


def _drained(log_dir: Path, load: KeyedLoad) -> Callable[[], bool]:
    def check_done() -> bool:
        _processed(log_dir)
        seen = _TAILS[log_dir].seen
        return all(key in seen for key in load.acked)

    return check_done


def _child_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "bench.switch", *extra]


def _set_group_to_end(kafka: str, group: str, topic: str) -> None:
    """Start the group at the topic's end: earlier runs' records are not this run's."""
    from turnout.controlplane.kafka_admin import KafkaAdmin, KafkaDownError

    admin = KafkaAdmin()
    tps = admin.partitions(kafka, [topic])
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            admin.alter_committed(kafka, group, admin.end_offsets(kafka, tps))
            return
        except KafkaDownError:
            # A fresh broker answers "coordinator load in progress" for a few seconds.
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S * 10)


@contextmanager
def _controlplane(zookeeper: str, kafka: str, work: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{work / 'controlplane.db'}"
    migrate(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        token = create_token(session, name="bench", role=ApiRole.ADMIN, actor="bench").token
    engine.dispose()
    settings = ControlPlaneSettings(
        database_url=url,
        zookeeper_connect=zookeeper,
        kafka_bootstrap=kafka,
        web_dist=work / "no-dashboard",
        lag_sample_interval_s=3600,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, READY_TIMEOUT_S, "the control plane")
    try:
        yield f"http://127.0.0.1:{port}/api/v1", token
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)


def _wait_completed(api: httpx.Client, switch_id: str) -> None:
    def completed() -> bool:
        state = api.get(f"/switches/{switch_id}").json()["state"]
        if state in ("failed", "timed_out"):
            raise RuntimeError(f"switch {switch_id} ended {state}")
        return bool(state == "completed")

    _wait(completed, SWITCH_TIMEOUT_S, "the switch to complete")


def run_turnout(
    zookeeper: str, kafka: str, topic: str, work: Path, switches: int
) -> dict[str, Any]:
    log_dir = work / "turnout"
    log_dir.mkdir()
    group = f"bench-turnout-{uuid.uuid4().hex[:6]}"
    agents: list[subprocess.Popen[bytes]] = []
    with (
        _controlplane(zookeeper, kafka, work) as (api_url, token),
        httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api,
    ):
        api.post(
            "/clusters",
            json={"name": "local", "kafka_bootstrap": kafka, "zookeeper_connect": zookeeper},
        ).raise_for_status()
        api.post(
            "/deployments",
            json={
                "name": "bench",
                "cluster": "local",
                "live": {"group": group, "topics": [topic]},
                "colours": {"blue": {"version": "1"}, "green": {"version": "2"}},
            },
        ).raise_for_status()
        _set_group_to_end(kafka, group, topic)
        try:
            for colour in ("blue", "green"):
                for i in range(INSTANCES_PER_VERSION):
                    out = (work / f"agent-{colour}-{i}.out").open("wb")
                    agents.append(
                        subprocess.Popen(
                            _child_command(
                                "--child",
                                "agent",
                                "--events",
                                str(log_dir),
                                "--deployment",
                                "bench",
                                "--colour",
                                colour,
                                "--instance",
                                f"{colour}-{i}",
                                "--zookeeper",
                                zookeeper,
                                "--kafka",
                                kafka,
                            ),
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
                    out.close()

            def all_owned_by(colour: str) -> bool:
                parts = api.get("/deployments/bench/state").json()["partitions"]
                return len(parts) == PARTITIONS and all(p["owner_colour"] == colour for p in parts)

            _wait(lambda: all_owned_by("blue"), READY_TIMEOUT_S, "blue to own every partition")
            load = KeyedLoad(kafka, topic).start()
            time.sleep(SETTLE_S)
            switch_ms: list[float] = []
            switch_starts: list[int] = []
            api_ms: list[float] = []
            colour = "blue"
            for _ in range(switches):
                colour = "green" if colour == "blue" else "blue"
                new = {f"{colour}-{i}" for i in range(INSTANCES_PER_VERSION)}
                mark = len(_processed(log_dir))
                started = time.monotonic_ns()
                response = api.post(
                    "/deployments/bench/switch", json={"to": colour, "timeout_s": SWITCH_TIMEOUT_S}
                )
                response.raise_for_status()
                api_ms.append((time.monotonic_ns() - started) / 1e6)
                done: list[int] = []

                def consumed_by_new(
                    new: set[str] = new,
                    started: int = started,
                    done: list[int] = done,
                    mark: int = mark,
                ) -> bool:
                    at = switch_done_ns(_processed(log_dir)[mark:], new, started, PARTITIONS)
                    if at is not None:
                        done.append(at)
                    return at is not None

                _wait(consumed_by_new, SWITCH_TIMEOUT_S, f"switch to {colour}")
                switch_ms.append((done[0] - started) / 1e6)
                switch_starts.append(started)
                with (log_dir / "switch-starts.txt").open("a") as marks:
                    marks.write(f"{started} {colour}\n")
                _wait_completed(api, str(response.json()["id"]))
                time.sleep(SETTLE_S)
            load.stop()
            _wait(_drained(log_dir, load), DRAIN_TIMEOUT_S, "every record to be processed")
        finally:
            stop_children(agents, STOP_TIMEOUT_S)
    events = _processed(log_dir)
    report = check(
        load.produced(topic), read_events(*log_dir.glob("events-*.jsonl")), planned_only=True
    )
    result = scenario_result(switch_ms, load, events, report, switch_starts)
    result["api_ms_p50"] = round(percentile(api_ms, 50), 1)
    return result


def _native_once(
    kafka: str, topic: str, work: Path, mode: str, run: int
) -> tuple[float, int, KeyedLoad, Path]:
    """One native handover: 4 old consumers, 4 new join, the old leave. Returns the
    switch time in ms, when it started, the run's load and its log directory."""
    log_dir = work / f"{mode}-{run}"
    log_dir.mkdir()
    group = f"bench-{mode}-{uuid.uuid4().hex[:6]}"
    _set_group_to_end(kafka, group, topic)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    old = [f"old-{i}" for i in range(INSTANCES_PER_VERSION)]
    new = [f"new-{i}" for i in range(INSTANCES_PER_VERSION)]

    def send(names: list[str], command: str) -> None:
        for name in names:
            stdin = processes[name].stdin
            assert stdin is not None
            with suppress(BrokenPipeError):
                stdin.write(f"{command}\n".encode())
                stdin.flush()

    def all_consumed_by(names: list[str], since_ns: int) -> bool:
        return switch_done_ns(_processed(log_dir), set(names), since_ns, PARTITIONS) is not None

    try:
        for name in old + new:
            out = (work / f"{mode}-{run}-{name}.out").open("wb")
            processes[name] = subprocess.Popen(
                _child_command(
                    "--child",
                    "native",
                    "--events",
                    str(log_dir),
                    "--mode",
                    mode,
                    "--group",
                    group,
                    "--topic",
                    topic,
                    "--kafka",
                    kafka,
                    "--instance",
                    name,
                    "--colour",
                    "blue" if name in old else "green",
                ),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            out.close()
        load = KeyedLoad(kafka, topic).start()
        began = time.monotonic_ns()
        send(old, "go")
        _wait(lambda: all_consumed_by(old, began), READY_TIMEOUT_S, "the old consumers")
        time.sleep(SETTLE_S)
        started = time.monotonic_ns()
        send(new, "go")

        def joined() -> bool:
            seen = {e.instance for e in _processed(log_dir) if e.start_ns >= started}
            return all(name in seen for name in new)

        _wait(joined, SWITCH_TIMEOUT_S, "the new consumers to receive partitions")
        send(old, "stop")
        _wait(lambda: all_consumed_by(new, started), SWITCH_TIMEOUT_S, "the new consumers")
        done = switch_done_ns(_processed(log_dir), set(new), started, PARTITIONS)
        assert done is not None
        time.sleep(SETTLE_S)
        load.stop()
        _wait(_drained(log_dir, load), DRAIN_TIMEOUT_S, "every record to be processed")
        send(new, "stop")
    finally:
        stop_children(list(processes.values()), STOP_TIMEOUT_S)
    return (done - started) / 1e6, started, load, log_dir


def run_native(kafka: str, topic: str, work: Path, mode: str, runs: int) -> dict[str, Any]:
    switch_ms: list[float] = []
    gaps: list[float] = []
    gaps_from_send: list[float] = []
    reports: list[CheckReport] = []
    for run in range(runs):
        took, started, load, log_dir = _native_once(kafka, topic, work, mode, run)
        switch_ms.append(took)
        gaps.append(gap_ms_max(load.acked, _processed(log_dir), [started]))
        gaps_from_send.append(
            gap_ms_max(load.acked, _processed(log_dir), [started], from_send=True)
        )
        reports.append(
            check(
                load.produced(topic),
                read_events(*log_dir.glob("events-*.jsonl")),
                planned_only=True,
            )
        )
    return {
        "switches": len(switch_ms),
        "switch_ms_p50": round(percentile(switch_ms, 50), 1),
        "switch_ms_p99": round(percentile(switch_ms, 99), 1),
        "gap_ms_max": round(max(gaps), 1),
        "gap_ms_max_from_send": round(max(gaps_from_send), 1),
        "duplicates": sum(r.duplicates.extra_copies for r in reports),
        "lost": sum(r.lost.count for r in reports),
        "acked": sum(r.acked for r in reports),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.switch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--kafka", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092"))
    parser.add_argument("--switches", type=int, default=TURNOUT_SWITCHES)
    parser.add_argument("--native-runs", type=int, default=NATIVE_RUNS)
    parser.add_argument(
        "--only",
        choices=["turnout", "kafka_eager", "kafka_cooperative", "kafka_consumer_protocol"],
        action="append",
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the event logs (and switch start marks) in DIR for bench.switch_gaps",
    )
    parser.add_argument("--child", choices=["agent", "native"])
    for name in ("events", "deployment", "colour", "instance", "mode", "group", "topic"):
        parser.add_argument(f"--{name}")
    args = parser.parse_args(argv)
    if args.child == "agent":
        return _agent_child(args)
    if args.child == "native":
        return _native_child(args)
    logging.basicConfig(level=logging.ERROR)
    chroot = f"/bench-switch-{uuid.uuid4().hex[:8]}"
    root = ZkGateway(args.zookeeper)
    root.start()
    root.ensure_path(chroot)
    zookeeper = args.zookeeper + chroot
    topic = f"bench-switch-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": args.kafka})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[
        topic
    ].result(60)
    wanted = args.only or ["turnout", "kafka_eager", "kafka_cooperative", "kafka_consumer_protocol"]
    result: dict[str, Any] = {
        "partitions": PARTITIONS,
        "instances_per_version": INSTANCES_PER_VERSION,
        "produce_rate_per_s": PRODUCE_RATE_PER_S,
        "cores": os.cpu_count(),
    }
    try:
        with (
            nullcontext(args.keep)
            if args.keep
            else tempfile.TemporaryDirectory(prefix="bench-switch-")
        ) as tmp:
            work = Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            if "turnout" in wanted:
                result["turnout"] = run_turnout(zookeeper, args.kafka, topic, work, args.switches)
            for mode in ("kafka_eager", "kafka_cooperative", "kafka_consumer_protocol"):
                if mode in wanted:
                    try:
                        result[mode] = run_native(args.kafka, topic, work, mode, args.native_runs)
                    except RuntimeError as exc:
                        result[mode] = {"error": str(exc)}
    finally:
        with suppress(Exception):
            root.delete(chroot, recursive=True)
        root.stop()
        with suppress(Exception):
            admin.delete_topics([topic])[topic].result(30)
    gaps = [
        result[m]["gap_ms_max"]
        for m in ("kafka_eager", "kafka_cooperative", "kafka_consumer_protocol")
        if m in result and "gap_ms_max" in result[m]
    ]
    if gaps and "turnout" in result and result["turnout"]["gap_ms_max"] > 0:
        result["gap_ratio_best_native"] = round(min(gaps) / result["turnout"]["gap_ms_max"], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
