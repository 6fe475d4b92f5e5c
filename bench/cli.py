"""CLI start-up benchmark: ``python -m bench.cli`` prints one JSON object.

How long the `turnout` command takes, as a user runs it (the console script of this
environment, one process per run), for:

- ``help``: ``turnout --help``;
- ``status``: ``turnout status D`` against a running control plane (URL and token from
  ``TURNOUT_URL``/``TURNOUT_TOKEN``), a deployment with a topic of 8 partitions;
- ``python_pass``: ``python -c pass`` with the same interpreter, the floor under both.

Each is run once to warm up, then ``--runs`` times, the three interleaved so that the
machine's load drifts over all of them alike. Per command: ``wall_s_median`` (the goal:
under 0.3 s for ``help`` and ``status``), ``wall_s_p90`` and ``cpu_s_median`` (user +
system time of the process, which a busy machine inflates less than the wall time).
``status_request_ms_median`` is the state request alone, made from this process: the
part of ``status`` that the control plane spends answering. ``load_average`` is the
1-minute load at the start and the end of the measuring, beside the ``cpus``; ``python``
and ``typer`` are the versions the commands ran with (how long typer takes to parse a
command's parameters differs much between its versions).

The commands run with Python's bytecode cache, as an installed package has it (pip
compiles on install; a first run writes it otherwise): PYTHONDONTWRITEBYTECODE is
dropped from their environment and the warm-up run writes what is missing.

It starts its own control plane (``turnout controlplane migrate``, ``turnout token
create``, ``turnout controlplane serve`` in a subprocess on a free port, SQLite in a
temporary directory) and creates the cluster, topic and deployment through the API. The
control plane needs ZooKeeper and Kafka: ``--zookeeper``/``--kafka`` name running ones
(a fresh ZooKeeper root is used and deleted), else a local stack of its own is started
on free ports (``turnout.devstack``) and stopped at the end, with everything else
started here.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench.switch_measure import percentile
from turnout.devstack import LocalStack, StackSettings
from turnout.devstack.process import free_port, stop_children
from turnout.zk import ZkGateway

RUNS = 15
GOAL_S = 0.3
DEPLOYMENT = "cli-bench"
PARTITIONS = 8
#: One CLI command (a server-side one imports FastAPI and SQLAlchemy; a loaded box is slow).
COMMAND_TIMEOUT_S = 60.0
#: The control plane imports its server libraries and connects to ZooKeeper before it binds.
SERVE_START_TIMEOUT_S = 60.0
#: Creating a topic on a one-node cluster takes tens of milliseconds idle.
TOPIC_TIMEOUT_S = 30.0
#: A clean stop of the control plane (its ZooKeeper session closes).
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1


@dataclass(frozen=True)
class Services:
    zookeeper: str
    kafka: str


@dataclass(frozen=True)
class ControlPlane:
    url: str
    token: str


@dataclass
class Samples:
    wall_s: list[float]
    cpu_s: list[float]

    def figures(self) -> dict[str, float]:
        return {
            "wall_s_median": round(statistics.median(self.wall_s), 4),
            "wall_s_p90": round(percentile(self.wall_s, 90), 4),
            "cpu_s_median": round(statistics.median(self.cpu_s), 4),
        }


def child_environment(**extra: str) -> dict[str, str]:
    """This environment with Python's bytecode cache on and no Turnout setting leaking in."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONDONTWRITEBYTECODE" and not key.startswith("TURNOUT_")
    }
    return {**kept, **extra}


def turnout_command() -> list[str]:
    """The console script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "turnout"
    if not script.is_file():
        raise RuntimeError(f"no `turnout` console script at {script}: install the package")
    return [str(script)]


def run_checked(command: Sequence[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_S, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def timed(command: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, timeout=COMMAND_TIMEOUT_S, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{command} exited {done.returncode}: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


# ---- services ---------------------------------------------------------------------------


@contextmanager
def private_stack(state_dir: Path) -> Iterator[Services]:
    settings = StackSettings(
        state_dir=state_dir,
        zookeeper_port=free_port(),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    stack = LocalStack(settings)
    try:
        stack.up(progress=lambda line: print(f"… {line}", file=sys.stderr))
        yield Services(settings.zookeeper_connect, settings.kafka_bootstrap)
    finally:
        stack.down(purge=True)


@contextmanager
def fresh_zookeeper_root(zookeeper: str) -> Iterator[str]:
    root = f"/cli-bench-{uuid.uuid4().hex[:8]}"
    try:
        yield root
    finally:
        gateway = ZkGateway(zookeeper)
        gateway.start()
        try:
            if gateway.exists(root):
                gateway.delete(root, recursive=True)
        finally:
            gateway.stop()


def create_topic(kafka: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka})
    futures = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS)])
    futures[name].result(timeout=TOPIC_TIMEOUT_S)


@contextmanager
def control_plane(services: Services, zookeeper_root: str, workdir: Path) -> Iterator[ControlPlane]:
    """Migrate, create an admin token and serve, all through the `turnout` command."""
    env = child_environment(
        TURNOUT_DATABASE_URL=f"sqlite:///{workdir / 'controlplane.db'}",
        TURNOUT_ZOOKEEPER_CONNECT=services.zookeeper,
        TURNOUT_ZOOKEEPER_ROOT=zookeeper_root,
        TURNOUT_KAFKA_BOOTSTRAP=services.kafka,
    )
    turnout = turnout_command()
    run_checked([*turnout, "controlplane", "migrate"], env, workdir)
    token = run_checked(
        [*turnout, "token", "create", "--name", "cli-bench", "--role", "admin"], env, workdir
    ).strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*turnout, "controlplane", "serve", "--port", str(port)],
            env=env, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT_S
        while not _answers(f"{url}/healthz"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the control plane did not serve:\n{log.read_text()[-3000:]}")
            time.sleep(POLL_S)
        yield ControlPlane(url, token)
    finally:
        stop_children([server], STOP_TIMEOUT_S)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def create_deployment(
    api: httpx.Client, services: Services, zookeeper_root: str, topic: str
) -> None:
    cluster = {
        "name": "bench",
        "kafka_bootstrap": services.kafka,
        "zookeeper_connect": services.zookeeper,
        "zookeeper_root": zookeeper_root,
    }
    _created(api.post("/api/v1/clusters", json=cluster))
    deployment = {
        "name": DEPLOYMENT,
        "cluster": "bench",
        "live": {"group": f"{DEPLOYMENT}-group", "topics": [topic]},
        "colours": {"blue": {"version": "1.0"}, "green": {"version": "2.0"}},
    }
    _created(api.post("/api/v1/deployments", json=deployment))


def _created(response: httpx.Response) -> None:
    if response.status_code != 201:
        raise RuntimeError(f"{response.request.url}: HTTP {response.status_code}: {response.text}")


# ---- measuring --------------------------------------------------------------------------


def measure(cp: ControlPlane, runs: int, workdir: Path) -> dict[str, object]:
    env = child_environment(TURNOUT_URL=cp.url, TURNOUT_TOKEN=cp.token)
    turnout = turnout_command()
    commands = {
        "python_pass": [sys.executable, "-c", "pass"],
        "help": [*turnout, "--help"],
        "status": [*turnout, "status", DEPLOYMENT],
    }
    samples = {name: Samples([], []) for name in commands}
    for command in commands.values():
        timed(command, env, workdir)  # warm-up: caches, bytecode
    load_start = os.getloadavg()[0]
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu = timed(command, env, workdir)
            samples[name].wall_s.append(wall)
            samples[name].cpu_s.append(cpu)
    load_end = os.getloadavg()[0]
    with httpx.Client(
        base_url=cp.url, headers={"Authorization": f"Bearer {cp.token}"}, timeout=30.0
    ) as api:
        request_ms = []
        for _ in range(runs):
            start = time.perf_counter()
            api.get(f"/api/v1/deployments/{DEPLOYMENT}/state").raise_for_status()
            request_ms.append((time.perf_counter() - start) * 1000)
    return {
        "runs": runs,
        "goal_s": GOAL_S,
        **{name: sample.figures() for name, sample in samples.items()},
        "status_request_ms_median": round(statistics.median(request_ms), 1),
        "load_average": {"start": round(load_start, 2), "end": round(load_end, 2)},
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "typer": importlib.metadata.version("typer"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--zookeeper", help="a running ZooKeeper (host:port)")
    parser.add_argument("--kafka", help="a running Kafka (bootstrap servers)")
    args = parser.parse_args()
    if (args.zookeeper is None) != (args.kafka is None):
        parser.error("give both --zookeeper and --kafka, or neither")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cli-bench-")))
        if args.zookeeper is None:
            services = stack.enter_context(private_stack(workdir / "stack"))
        else:
            services = Services(args.zookeeper, args.kafka)
        root = stack.enter_context(fresh_zookeeper_root(services.zookeeper))
        topic = f"{DEPLOYMENT}-{uuid.uuid4().hex[:8]}"
        create_topic(services.kafka, topic)
        cp = stack.enter_context(control_plane(services, root, workdir))
        with httpx.Client(
            base_url=cp.url, headers={"Authorization": f"Bearer {cp.token}"}, timeout=30.0
        ) as api:
            create_deployment(api, services, root, topic)
        report = measure(cp, args.runs, workdir)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
