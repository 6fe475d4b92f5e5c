"""End-to-end pieces: the control plane as a subprocess, agent processes, a keyed producer.

Agents run ``tests.support.agent_process`` (the ``turnout agent run`` code path with the
verifying handler); every process writes JSON lines into one log directory, and the verify
toolkit's checker judges the merged history.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.integration.controlplane.kit import deployment_body
from tests.support.agent_kit import (
    FENCE_MARGIN_S,
    REPO_ROOT,
    SESSION_TIMEOUT_S,
    LoadProducer,
    Spawned,
    wait_until,
)
from tests.support.controlplane import ControlPlaneProcess, make_tokens
from tests.support.services import Services
from turnout.controlplane.db import migrate
from turnout.controlplane.security import ApiRole
from turnout.devstack.process import free_port
from turnout.protocol.kafka_security import load_kafka_security
from turnout.verify import CheckReport, check, read_history

#: Keys of the producer: few enough that every partition sees repeats (order checks).
KEYS = 64
#: Steady load: records are in flight at every handoff, the box stays usable.
PRODUCE_RATE_PER_S = 300
#: A switch among live agents takes about a second; this bounds a broken one.
SWITCH_TIMEOUT_S = 60.0
#: Everything acknowledged must be processed within this after the load stops.
DRAIN_TIMEOUT_S = 60.0
#: Simulated work per record that outlasts any test: a handler that never returns, so the
#: agent can never finish draining a partition whose record it is working on.
BLOCKED_WORK_S = 3600.0
#: How long a switch request waits for its colour to be ready: agents just started
#: connect, claim nothing and warm up within seconds, more on a loaded 2-core box.
WAIT_READY_MS = 60_000
#: The HTTP bound of a switch request: its readiness wait plus an ordinary call.
SWITCH_REQUEST_TIMEOUT_S = WAIT_READY_MS / 1000 + 30

#: The states in which a switch has ended.
ENDED = frozenset({"completed", "failed", "timed_out"})


class KeyedProducer(LoadProducer):
    """Produces unique values under ``KEYS`` keys at a steady rate, logging acks."""

    def __init__(
        self,
        kafka: str,
        topic: str,
        log_dir: Path,
        rate_per_s: int,
        client_config: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(kafka, topic, log_dir, rate_per_s, keys=KEYS, client_config=client_config)


@dataclass(frozen=True)
class SecuredAccess:
    """How the rig reaches a secured stack: the control plane as the stack's ``admin``
    (its own ZooKeeper through ``TURNOUT_SECURITY_ENV_FILE``, the cluster through the
    named credentials ``admin``, from ``TURNOUT_CLUSTER_CREDENTIALS_DIR``), the agents and
    the producer as ``client`` (``TURNOUT_AGENT_SECURITY_ENV_FILE``)."""

    controlplane_env: Path
    agents_env: Path

    @classmethod
    def of(cls, services: Services) -> SecuredAccess:
        return cls(services.client_settings["admin"], services.client_settings["client"])

    def agents_kafka(self) -> dict[str, str]:
        return load_kafka_security(self.agents_env).client_config()


@dataclass
class Rig:
    """A control-plane process, its tokens, and the agents of one deployment."""

    cp: ControlPlaneProcess
    tokens: dict[ApiRole, str]
    zookeeper: str
    kafka: str
    log_dir: Path
    access: SecuredAccess | None = None
    deployment: str = ""
    agents: dict[str, Spawned] = field(default_factory=dict)

    def kafka_client_config(self) -> dict[str, str]:
        """The agents' Kafka security settings ({} on a plain stack)."""
        return {} if self.access is None else self.access.agents_kafka()

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.cp.url}/api/v1",
            headers={"Authorization": f"Bearer {self.tokens[ApiRole.ADMIN]}"},
            timeout=30,
        )

    def spawn_agent(self, instance: str, colour: str, *, work_s: float = 0.0) -> Spawned:
        """Start agent ``instance`` of ``colour``; its handler takes ``work_s`` per record
        (``BLOCKED_WORK_S``: it never finishes one while the test runs)."""
        out = self.log_dir / f"agent-{instance}-{len(self.agents)}.out"
        command = [
            sys.executable, "-m", "tests.support.agent_process",
            "--events", str(self.log_dir),
            "--deployment", self.deployment,
            "--colour", colour,
            "--instance", instance,
            "--zookeeper", self.zookeeper,
            "--kafka", self.kafka,
            "--session-timeout", str(SESSION_TIMEOUT_S),
            "--fence-margin", str(FENCE_MARGIN_S),
            "--work-s", str(work_s),
        ]  # fmt: skip
        env = dict(os.environ)
        if self.access is not None:
            env["TURNOUT_AGENT_SECURITY_ENV_FILE"] = str(self.access.agents_env)
        with out.open("wb") as sink:
            process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env
            )
        spawned = Spawned(instance, process, out)
        self.agents[instance] = spawned
        return spawned

    def state(self) -> dict[str, Any]:
        with self.api() as client:
            return dict(client.get(f"/deployments/{self.deployment}/state").json())

    def live_partitions(self) -> list[dict[str, Any]]:
        """The live binding's partitions as the API shows them (none while it is down)."""
        try:
            partitions = self.state()["partitions"]
        except httpx.HTTPError:
            return []
        return [p for p in partitions if p["binding"] == "live"]

    def wait_owned_by(self, colour: str, timeout_s: float = SWITCH_TIMEOUT_S) -> None:
        live: list[dict[str, Any]] = []

        def all_owned() -> bool:
            live[:] = self.live_partitions()
            return bool(live) and all(p["owner_colour"] == colour for p in live)

        wait_until(
            all_owned, timeout_s, lambda: f"not all owned by {colour}: {live}" + self.outputs()
        )

    def switch(self, to: str) -> dict[str, Any]:
        """Start a switch to ``to`` once its agents are ready (the API waits for them)."""
        with self.api() as client:
            response = client.post(
                f"/deployments/{self.deployment}/switch",
                json={"to": to, "timeout_s": SWITCH_TIMEOUT_S, "wait_ready_ms": WAIT_READY_MS},
                timeout=SWITCH_REQUEST_TIMEOUT_S,
            )
        assert response.status_code == 202, response.text
        return dict(response.json())

    def get_switch(self, switch_id: str) -> dict[str, Any]:
        with self.api() as client:
            return dict(client.get(f"/switches/{switch_id}").json())

    def wait_switch(
        self,
        switch_id: str,
        states: frozenset[str] = ENDED,
        timeout_s: float = SWITCH_TIMEOUT_S + 10,
    ) -> dict[str, Any]:
        """The switch once its state is one of ``states`` (by default: once it ended)."""
        found: dict[str, Any] = {}

        def reached() -> bool:
            try:
                found.update(self.get_switch(switch_id))
            except httpx.HTTPError:
                return False  # the control plane may be restarting
            return found["state"] in states

        wait_until(
            reached,
            timeout_s,
            lambda: f"switch {switch_id} never reached {sorted(states)}: {found}" + self.outputs(),
        )
        return dict(found)

    def processed_count(self) -> int:
        seen: set[tuple[int, int]] = set()
        for path in self.log_dir.glob("events-*.jsonl"):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if '"event":"processed"' in line and line.endswith("\n"):
                        partition = int(line.split('"partition":', 1)[1].split(",", 1)[0])
                        offset = int(line.split('"offset":', 1)[1].split(",", 1)[0])
                        seen.add((partition, offset))
        return len(seen)

    def wait_drained(self, acked: int) -> None:
        wait_until(
            lambda: self.processed_count() >= acked,
            DRAIN_TIMEOUT_S,
            lambda: f"only {self.processed_count()} of {acked} processed",
        )

    def stop_agents(self) -> None:
        for spawned in self.agents.values():
            try:
                spawned.terminate(30)
            except subprocess.TimeoutExpired:
                spawned.kill()

    def check(self, planned_only: bool) -> CheckReport:
        history = read_history(self.log_dir)
        return check(history.produced, history.events, planned_only=planned_only)

    def outputs(self) -> str:
        return "".join(f"\n--- {name}\n{a.output()[-1500:]}" for name, a in self.agents.items()) + (
            f"\n--- control plane\n{self.cp.log_path.read_text(errors='replace')[-3000:]}"
            if self.cp.log_path.exists()
            else ""
        )


def deploy_blue_green(
    built: Rig,
    deployment: str,
    group: str,
    topics: list[str],
    per_colour: int = 2,
    **settings: Any,
) -> None:
    """Create ``deployment`` through the API (``settings``: more fields of its body), start
    ``per_colour`` blue and green agents (``blue-<i>``, ``green-<i>``) and wait until blue
    owns every live partition."""
    built.deployment = deployment
    body = deployment_body(deployment, group, topics, **settings)
    with built.api() as client:
        created = client.post("/deployments", json=body)
        assert created.status_code == 201, created.text
    for i in range(per_colour):
        built.spawn_agent(f"blue-{i}", "blue")
        built.spawn_agent(f"green-{i}", "green")
    built.wait_owned_by("blue")


@contextmanager
def rig(
    zookeeper: str,
    kafka: str,
    tmp_path: Path,
    *,
    digest: str | None,
    access: SecuredAccess | None = None,
) -> Iterator[Rig]:
    """Migrate a SQLite database, create tokens, start the control plane subprocess and
    cluster ``local``; stop every process at the end. ``digest``: the control plane's
    ZooKeeper digest identity on a plain stack; ``access``: a secured stack's settings."""
    database_url = f"sqlite:///{tmp_path / 'controlplane.db'}"
    migrate(database_url)
    tokens = make_tokens(database_url)
    env = {
        **os.environ,
        "TURNOUT_DATABASE_URL": database_url,
        "TURNOUT_ZOOKEEPER_CONNECT": zookeeper,
        "TURNOUT_KAFKA_BOOTSTRAP": kafka,
        "TURNOUT_SWITCH_POLL_INTERVAL_S": "0.05",
        "TURNOUT_RECONCILE_INTERVAL_S": "0.5",
        "TURNOUT_WEB_DIST": str(tmp_path / "no-dashboard"),
    }
    cluster: dict[str, str] = {}
    if digest is not None:
        env["TURNOUT_ZOOKEEPER_DIGEST"] = digest
    if access is not None:
        env["TURNOUT_SECURITY_ENV_FILE"] = str(access.controlplane_env)
        env["TURNOUT_CLUSTER_CREDENTIALS_DIR"] = str(access.controlplane_env.parent)
        cluster["credentials"] = access.controlplane_env.stem
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    cp = ControlPlaneProcess(env=env, port=free_port(), log_path=tmp_path / "controlplane.out")
    cp.start()
    built = Rig(
        cp=cp, tokens=tokens, zookeeper=zookeeper, kafka=kafka, log_dir=log_dir, access=access
    )
    try:
        with built.api() as client:
            created = client.post(
                "/clusters",
                json={
                    "name": "local",
                    "kafka_bootstrap": kafka,
                    "zookeeper_connect": zookeeper,
                    "zookeeper_root": "/turnout",
                    **cluster,
                },
            )
            assert created.status_code == 201, created.text
        yield built
    finally:
        built.stop_agents()
        cp.stop()
