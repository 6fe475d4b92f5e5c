"""Switch benchmark: ``python -m bench.switch`` prints one JSON object.

Same broker, same topic (64 partitions), steady keyed load from a producer in a process
of its own (``switch_load``), 4 instances per version:

- ``turnout``: 4 blue + 4 green agent processes (warm standby) and a control plane (in
  this process); ``--switches`` (100) switches through the REST API, alternating
  colours, each made once every instance of the colour switched to reports ready.
- ``kafka_*``: Kafka's native rollout of a new consumer version, ``--native-rollouts``
  (100) times per mode: eager range, cooperative-sticky and the KIP-848 consumer
  protocol, each with librdkafka's default heartbeat and tuned (heartbeat 1 s, session
  6 s); the new consumers are created and connected before each rollout starts, as
  Turnout's standby is (``switch_native`` has the details).

Fields per scenario:

- ``switches``: how many switches (rollouts) the percentiles are over;
  ``switch_ms_p50`` / ``switch_ms_p99``: from the API call (native: the new consumers'
  subscribe) until every partition has had a record processed by the new version.
- ``gap_ms_max``: the longest time any partition went without being processed while a
  record waited (a record waits from when the broker acknowledged it, or from when the
  previous record of its partition finished, whichever is later), over all switches;
  ``gap_ms_per_switch``: each switch's longest wait, as samples, p50, p99 and max;
  ``gap_ms_worst_switches``: the five longest as ``[switch number, ms]`` (the first
  switch is 1), which tells one outlier from a slow start.
  ``gap_ms_max_from_send`` counts from the producer's ``produce()`` call instead, so it
  also charges the producer's batching (``linger.ms`` 5) and any broker stall on the
  produce path to the consumers; it is shown for comparison with earlier figures.
- ``duplicates`` (records processed more than once) and ``lost`` (acknowledged records
  never processed), from the verify toolkit's checker over the JSON-lines history.

``best_native``: the native mode with the smallest ``gap_ms_max``;
``gap_ratio_best_native``: its ``gap_ms_max`` divided by Turnout's. A native mode that
fails fails the benchmark (exit 1, no JSON). ``turnout.api_ms_p50``: how long the switch
call itself took (the directive is written before it answers).

``--keep DIR`` keeps the event logs and the switch start marks in ``DIR``;
``python -m bench.switch_gaps DIR`` then shows where each handover's time went, and
``BENCH_AGENT_LOG_LEVEL`` (default ``WARNING``) sets the agents' log level (their JSON
lines are kept in ``DIR`` too).

Services: ``--zookeeper``/``--kafka`` (default: ``TURNOUT_TEST_ZK``/``TURNOUT_TEST_KAFKA``,
else the local stack's default ports). Everything runs in a fresh ZooKeeper chroot and
a fresh topic; every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench.switch_load import PRODUCE_RATE_PER_S, LoadProcess, start_group_at_end
from bench.switch_measure import EventTail, percentile, scenario_result, switch_done_ns
from bench.switch_native import MODES, run_native
from bench.waiting import wait_for
from turnout.controlplane.app import create_app
from turnout.controlplane.db import make_engine, make_sessionmaker, migrate
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.tokens import create_token
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.devstack.process import free_port, stop_children
from turnout.protocol import DeploymentPaths, InstanceStatus
from turnout.verify import EventLog, check, read_events
from turnout.zk import ZkGateway, ZkNoNodeError

PARTITIONS = 64
INSTANCES_PER_VERSION = 4
#: Percentiles of fewer samples are their extremes: a p99 needs 100.
SWITCHES = 100
#: Pause between switches (records flow under the new owner before the next one).
SETTLE_S = 1.0
#: Bounds: a broken switch or rebalance must not hang the benchmark.
SWITCH_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
DEPLOYMENT = "bench"


# ---- the agents' processes --------------------------------------------------------------


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
    logs.configure(os.environ.get("BENCH_AGENT_LOG_LEVEL", "WARNING"), json_lines=True)
    with EventLog.in_directory(Path(args.events)) as log:
        handler = make_verifying_handler(log, args.instance, args.colour)
        return run_until_signalled(
            config,
            handler,
            stop_timeout_s=STOP_TIMEOUT_S,
            observer=log.bind(args.instance, args.colour),
        )


def _spawn_agent(
    work: Path, log_dir: Path, colour: str, i: int, zookeeper: str, kafka: str
) -> subprocess.Popen[bytes]:
    options = {
        "events": str(log_dir),
        "deployment": DEPLOYMENT,
        "colour": colour,
        "instance": f"{colour}-{i}",
        "zookeeper": zookeeper,
        "kafka": kafka,
    }
    command = [sys.executable, "-m", "bench.switch", "--child", "agent"]
    for name, value in options.items():
        command += [f"--{name}", value]
    out = (work / f"agent-{colour}-{i}.out").open("wb")
    try:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()


# ---- orchestration ----------------------------------------------------------------------


def _all_ready(zk: ZkGateway, paths: DeploymentPaths, instances: set[str]) -> bool:
    """Every one of ``instances`` reports ready in its status (warm, settled)."""
    for instance in instances:
        try:
            data, _ = zk.get(paths.status(instance))
        except ZkNoNodeError:
            return False
        if not InstanceStatus.from_bytes(data).ready:
            return False
    return True


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
    wait_for(lambda: server.started, READY_TIMEOUT_S, "the control plane")
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

    wait_for(completed, SWITCH_TIMEOUT_S, "the switch to complete")


def run_turnout(
    zookeeper: str, kafka: str, topic: str, work: Path, switches: int
) -> dict[str, Any]:
    log_dir = work / "turnout"
    log_dir.mkdir()
    group = f"bench-turnout-{uuid.uuid4().hex[:6]}"
    agents: list[subprocess.Popen[bytes]] = []
    tail = EventTail(log_dir)
    paths = DeploymentPaths("/turnout", DEPLOYMENT)
    zk = ZkGateway(zookeeper)
    zk.start()
    load: LoadProcess | None = None
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
                "name": DEPLOYMENT,
                "cluster": "local",
                "live": {"group": group, "topics": [topic]},
                "colours": {"blue": {"version": "1"}, "green": {"version": "2"}},
            },
        ).raise_for_status()
        start_group_at_end(kafka, group, topic)
        try:
            for colour in ("blue", "green"):
                for i in range(INSTANCES_PER_VERSION):
                    agents.append(_spawn_agent(work, log_dir, colour, i, zookeeper, kafka))

            def all_owned_by(colour: str) -> bool:
                parts = api.get(f"/deployments/{DEPLOYMENT}/state").json()["partitions"]
                return len(parts) == PARTITIONS and all(p["owner_colour"] == colour for p in parts)

            wait_for(lambda: all_owned_by("blue"), READY_TIMEOUT_S, "blue to own every partition")
            load = LoadProcess(kafka, topic, work / "turnout-acked.txt")
            load.wait_started(READY_TIMEOUT_S)
            time.sleep(SETTLE_S)
            switch_ms: list[float] = []
            switch_starts: list[int] = []
            api_ms: list[float] = []
            colour = "blue"
            for _ in range(switches):
                colour = "green" if colour == "blue" else "blue"
                new = {f"{colour}-{i}" for i in range(INSTANCES_PER_VERSION)}
                wait_for(
                    partial(_all_ready, zk, paths, new), READY_TIMEOUT_S, f"{colour} to be ready"
                )
                mark = len(tail.poll())
                started = time.monotonic_ns()
                response = api.post(
                    f"/deployments/{DEPLOYMENT}/switch",
                    json={"to": colour, "timeout_s": SWITCH_TIMEOUT_S},
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
                    at = switch_done_ns(tail.poll()[mark:], new, started, PARTITIONS)
                    if at is not None:
                        done.append(at)
                    return at is not None

                wait_for(consumed_by_new, SWITCH_TIMEOUT_S, f"switch to {colour}")
                switch_ms.append((done[0] - started) / 1e6)
                switch_starts.append(started)
                with (log_dir / "switch-starts.txt").open("a") as marks:
                    marks.write(f"{started} {colour}\n")
                _wait_completed(api, str(response.json()["id"]))
                time.sleep(SETTLE_S)
            acked = load.stop()
            wait_for(lambda: tail.drained(acked), DRAIN_TIMEOUT_S, "every record to be processed")
        finally:
            if load is not None:
                load.kill()
            stop_children(agents, STOP_TIMEOUT_S)
            zk.stop()
    report = check(load.produced(), read_events(*log_dir.glob("events-*.jsonl")), planned_only=True)
    result = scenario_result(switch_ms, acked, tail.poll(), report, switch_starts)
    result["api_ms_p50"] = round(percentile(api_ms, 50), 1)
    return result


def summary(result: dict[str, Any]) -> None:
    """Add the best native mode and Turnout's gap ratio against it to ``result``."""
    natives = {m: result[m]["gap_ms_max"] for m in MODES if m in result}
    if not natives:
        return
    best = min(natives, key=lambda m: natives[m])
    result["best_native"] = {"mode": best, "gap_ms_max": natives[best]}
    turnout = result.get("turnout", {}).get("gap_ms_max", 0.0)
    if turnout > 0:
        result["gap_ratio_best_native"] = round(natives[best] / turnout, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.switch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--kafka", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092"))
    parser.add_argument("--switches", type=int, default=SWITCHES, help="Turnout switches")
    parser.add_argument(
        "--native-rollouts", type=int, default=SWITCHES, help="rollouts per native mode"
    )
    parser.add_argument("--only", choices=["turnout", *MODES], action="append")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the event logs (and switch start marks) in DIR for bench.switch_gaps",
    )
    parser.add_argument("--child", choices=["agent"])
    for name in ("events", "deployment", "colour", "instance"):
        parser.add_argument(f"--{name}")
    args = parser.parse_args(argv)
    if args.child == "agent":
        return _agent_child(args)
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
    wanted = args.only or ["turnout", *MODES]
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
            for mode in MODES:
                if mode in wanted:
                    result[mode] = run_native(
                        args.kafka, topic, PARTITIONS, work, mode, args.native_rollouts
                    )
    except RuntimeError as exc:
        print(f"bench.switch failed: {exc}", file=sys.stderr)
        return 1
    finally:
        with suppress(Exception):
            root.delete(chroot, recursive=True)
        root.stop()
        with suppress(Exception):
            admin.delete_topics([topic])[topic].result(30)
    summary(result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
