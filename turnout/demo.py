"""`turnout demo`: the README's main job, on a fresh clone.

Brings up the local stack (ZooKeeper + Kafka), the control plane (in this process, with a
fresh SQLite database under the stack's state dir), a sample deployment ``billing`` with
two blue and two green agents (``turnout agent run`` processes) and a producer writing
keyed records; prints the dashboard URL and an operator token; runs until Ctrl-C, then
stops everything it started (the stack too, unless it was already running).

With ``--secure`` the stack is `turnout dev up --secure`'s (Kafka on SASL_SSL, ZooKeeper
on TLS with SASL) and every client takes its credentials from the env files the stack
wrote, never from a command line: the control plane and the topic set-up as ``admin``
(``security/admin.env``), the agents and the producer as ``client``
(``security/client.env``), and the deployment's agent directories writable by
``client`` and the control plane only.

It needs the ``controlplane`` extra; the server libraries are imported when it runs, so
that the ``turnout`` command of the core install loads, and says what to install.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.agent.records import Record
from turnout.controlplane.cli import server_libraries
from turnout.controlplane.security import ApiRole
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.devstack import LocalStack, StackError, StackSettings
from turnout.devstack.process import stop_children
from turnout.protocol.kafka_security import load_kafka_security

DEPLOYMENT = "billing"
GROUP = "billing-demo"
TOPIC = "demo-payments"
PARTITIONS = 8
#: A gentle load: the dashboard shows movement without taxing a laptop.
PRODUCE_RATE_PER_S = 50
#: Simulated work per record in the sample handler.
HANDLER_WORK_S = 0.002
#: Startup bounds: uvicorn binds in milliseconds, agents import and connect in seconds.
SERVER_START_TIMEOUT_S = 30.0
AGENTS_READY_TIMEOUT_S = 90.0
#: A clean agent stop drains, commits and releases; the agent's own bound is 30 s.
AGENT_STOP_TIMEOUT_S = 40.0
TOPIC_TIMEOUT_S = 30.0


def handle(record: Record) -> None:
    """The sample agents' handler: pretend to do a little work per record."""
    del record
    time.sleep(HANDLER_WORK_S)


@dataclass(frozen=True)
class _Access:
    """Env files of the secured stack's users (None on a plain stack)."""

    controlplane: Path | None = None
    clients: Path | None = None

    def kafka(self, env_file: Path | None) -> dict[str, str]:
        """Kafka security settings of ``env_file``'s user ({} on a plain stack)."""
        return {} if env_file is None else load_kafka_security(env_file).client_config()


def _ensure_topic(bootstrap: str, client_config: Mapping[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, **client_config})
    if TOPIC in admin.list_topics(timeout=TOPIC_TIMEOUT_S).topics:
        return
    futures = admin.create_topics(
        [NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)]
    )
    try:
        futures[TOPIC].result(timeout=TOPIC_TIMEOUT_S)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


class _Producer:
    def __init__(self, bootstrap: str, client_config: Mapping[str, str]) -> None:
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 20, **client_config}
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        sent = 0
        while not self._stop.wait(1.0 / PRODUCE_RATE_PER_S):
            self._producer.produce(
                TOPIC, key=f"customer-{sent % 97}".encode(), value=f"payment-{sent}".encode()
            )
            self._producer.poll(0)
            sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._producer.flush(10)
        # Close before the local stack stops, or librdkafka logs the broker going away.
        self._producer.close()


def _zk_digest(state: Path) -> str:
    """A digest identity kept across runs, so nodes of an earlier run stay writable."""
    path = state / "zookeeper-digest"
    if not path.exists():
        path.write_text(f"turnout-controlplane:{secrets.token_urlsafe(24)}")
        path.chmod(0o600)
    return path.read_text().strip()


def _spawn_agents(
    settings: ControlPlaneSettings, state: Path, access: _Access
) -> list[subprocess.Popen[bytes]]:
    processes: list[subprocess.Popen[bytes]] = []
    secured = [] if access.clients is None else ["--security-env-file", str(access.clients)]
    for colour, version in (("blue", "1.0.0"), ("green", "1.1.0")):
        for index in range(2):
            instance = f"{DEPLOYMENT}-{colour}-{index}"
            with (state / f"{instance}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "turnout",
                            "agent",
                            "run",
                            "turnout.demo:handle",
                            "--deployment",
                            DEPLOYMENT,
                            "--colour",
                            colour,
                            "--instance",
                            instance,
                            "--version",
                            version,
                            "--zookeeper",
                            settings.zookeeper_connect,
                            "--kafka",
                            settings.kafka_bootstrap,
                            "--log-json",
                            *secured,
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
    return processes


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def _tokens(database_url: str) -> dict[ApiRole, str]:
    from turnout.controlplane.db import make_engine, make_sessionmaker
    from turnout.controlplane.services.tokens import create_token

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                role: create_token(
                    session, name=f"demo-{role.value}", role=role, actor="demo"
                ).token
                for role in (ApiRole.ADMIN, ApiRole.OPERATOR)
            }
    finally:
        engine.dispose()


def demo(
    port: Annotated[int, typer.Option(help="Control-plane port")] = 8080,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="On the secured stack (turnout dev up --secure); every client takes its "
            "credentials from the stack's env files",
        ),
    ] = False,
) -> None:
    """Stack + control plane + a sample deployment (2 blue, 2 green agents, a producer)."""
    with server_libraries("demo"):
        import uvicorn

        from turnout.controlplane.app import create_app
        from turnout.controlplane.db import migrate
    stack_settings = StackSettings(secure=secure)
    stack = LocalStack(stack_settings)
    try:
        result = stack.up(progress=lambda line: typer.echo(f"… {line}"))
    except StackError as error:
        typer.echo(error.render(), err=True)
        raise typer.Exit(code=1) from error
    material = stack.security
    access = (
        _Access()
        if material is None
        else _Access(controlplane=material.admin.env_file, clients=material.client.env_file)
    )
    state = stack_settings.state_dir / "demo"
    state.mkdir(parents=True, exist_ok=True)
    database = state / "controlplane.db"
    for leftover in state.glob("controlplane.db*"):
        leftover.unlink()  # a fresh record of intent per run; ZooKeeper is reconciled to it
    settings = ControlPlaneSettings(
        database_url=f"sqlite:///{database}",
        zookeeper_connect=stack_settings.zookeeper_connect,
        kafka_bootstrap=stack_settings.kafka_bootstrap,
        # Secured: the control plane is the stack's admin (a SASL identity) instead.
        zookeeper_digest=None if secure else _zk_digest(state),  # type: ignore[arg-type]
        security_env_file=access.controlplane,
        host="127.0.0.1",
        port=port,
    )
    migrate(settings.database_url)
    tokens = _tokens(settings.database_url)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=settings.host, port=port, log_level="warning")
    )
    server_thread = threading.Thread(target=server.run, name="controlplane", daemon=True)
    agents: list[subprocess.Popen[bytes]] = []
    producer = _Producer(settings.kafka_bootstrap, access.kafka(access.clients))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    url = f"http://{settings.host}:{port}"
    try:
        server_thread.start()
        _wait(
            lambda: server.started or not server_thread.is_alive(),
            SERVER_START_TIMEOUT_S,
            "the control plane",
        )
        if not server.started:
            raise RuntimeError(f"the control plane could not listen on port {port} (in use?)")
        _ensure_topic(settings.kafka_bootstrap, access.kafka(access.controlplane))
        headers = {"Authorization": f"Bearer {tokens[ApiRole.ADMIN]}"}
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as api:
            api.post(
                "/clusters",
                json={
                    "name": "local",
                    "kafka_bootstrap": settings.kafka_bootstrap,
                    "zookeeper_connect": settings.zookeeper_connect,
                    "zookeeper_root": settings.zookeeper_root,
                },
            ).raise_for_status()
            api.post(
                "/deployments",
                json={
                    "name": DEPLOYMENT,
                    "cluster": "local",
                    "live": {"group": GROUP, "topics": [TOPIC]},
                    "processing": {"workers": 4},
                    "colours": {"blue": {"version": "1.0.0"}, "green": {"version": "1.1.0"}},
                    **({"zookeeper_user": "client"} if secure else {}),
                },
            ).raise_for_status()
            typer.echo("… starting 2 blue and 2 green agents")
            agents = _spawn_agents(settings, state, access)

            def all_owned_and_ready() -> bool:
                body = api.get(f"/deployments/{DEPLOYMENT}/state").json()
                live = body["partitions"]
                ready = all(colour["ready"] for colour in body["readiness"].values())
                # Every agent registered and settled: the first one up may own everything
                # before the others join, and their joining moves partitions again.
                settled = len(body["instances"]) == len(agents) and all(
                    i["state"] == "RUNNING" and i["epoch"] == body["epoch"]
                    for i in body["instances"]
                )
                owned = bool(live) and all(p["owner_instance"] for p in live)
                return ready and settled and owned

            # Both colours ready: the first switch the user asks for is not refused.
            _wait(
                all_owned_and_ready,
                AGENTS_READY_TIMEOUT_S,
                "the agents to own every partition and be ready",
            )
        producer.start()
        typer.echo(
            f"""
the demo is up: deployment {DEPLOYMENT!r}, blue live (2 agents), green standing by (2 agents)
  dashboard      {url}
  operator token {tokens[ApiRole.OPERATOR]}
  admin token    {tokens[ApiRole.ADMIN]}
  ZooKeeper      {settings.zookeeper_connect}    Kafka {settings.kafka_bootstrap}
  security       {"secured: control plane as admin, agents as client" if secure else "plain"}
  logs           {state}

try:
  export TURNOUT_URL={url} TURNOUT_TOKEN={tokens[ApiRole.OPERATOR]}
  uv run turnout status {DEPLOYMENT}
  uv run turnout switch {DEPLOYMENT} --to green --wait --wait-ready 30
  uv run turnout rollback {DEPLOYMENT} --wait --wait-ready 30
  uv run turnout settings {DEPLOYMENT} --set ordering=key --set workers=16

Ctrl-C stops the demo."""
        )
        while not stop.wait(0.5):
            if any(agent.poll() is not None for agent in agents):
                typer.echo(f"an agent exited; see its log under {state}", err=True)
                break
    except (RuntimeError, httpx.HTTPError, KafkaException) as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    finally:
        typer.echo("… stopping the producer, agents and control plane")
        producer.stop()
        stop_children(agents, AGENT_STOP_TIMEOUT_S)
        server.should_exit = True
        server_thread.join(timeout=15)
        if not result.already_running:
            typer.echo("… stopping the local stack")
            stack.down()
        else:
            typer.echo(
                "the local stack was already running and stays up (turnout dev down stops it)"
            )
