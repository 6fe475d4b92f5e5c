"""Building blocks of the control plane's integration tests: settings and a served control
plane with cluster ``local``, deployment bodies, stand-in agents that write ZooKeeper
nodes by hand (to drive the switch watcher deterministically), waiting for a switch.

The fixtures in ``conftest.py`` are built from these; tests that need a control plane
of their own (other settings, a second replica) call them directly."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer

from tests.support.agent_kit import wait_until
from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.log_secrets import WATCH
from turnout.controlplane.coordination.acl import digest_auth
from turnout.controlplane.security import ApiRole
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.protocol import (
    Colour,
    DeploymentPaths,
    Directive,
    InstanceRegistration,
    InstanceStatus,
    Ownership,
)
from turnout.protocol.models import utc_now
from turnout.zk import ZkGateway, ZkNoNodeError

#: Switch outcomes in these tests come from hand-written nodes and a 50 ms watcher.
SWITCH_WAIT_S = 20.0

#: The control plane's ZooKeeper identity in tests (digest ACLs are always on here).
CP_USER = "turnout-controlplane"


def cp_settings(
    database_url: str, zk_root: str, kafka: str, **overrides: object
) -> ControlPlaneSettings:
    password = f"secret-{os.urandom(4).hex()}"
    WATCH.record(password)
    values: dict[str, object] = {
        "database_url": database_url,
        "zookeeper_connect": zk_root,
        "zookeeper_root": "/turnout",
        "zookeeper_digest": f"{CP_USER}:{password}",
        "kafka_bootstrap": kafka,
        "switch_poll_interval_s": 0.05,
        "reconcile_interval_s": 0.5,
        "lag_sample_interval_s": 0.5,
        "lag_window_s": 60,
        "events_interval_s": 0.2,
        "web_dist": Path("/nonexistent"),
    }
    values.update(overrides)
    return ControlPlaneSettings(**values)  # type: ignore[arg-type]


@contextlib.contextmanager
def controlplane_identity(zookeeper: str, digest: str) -> Iterator[ZkGateway]:
    """A session authenticated as the control plane (``digest`` is ``user:password``):
    the one identity that may change the nodes the control plane protects."""
    user, _, password = digest.partition(":")
    gateway = ZkGateway(zookeeper, auth=digest_auth(user, password))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def remove_protected_nodes(zookeeper: str, digest: str, root: str = "/turnout") -> None:
    """Delete what the control plane created, as its digest identity: the chroot's
    anonymous teardown may not delete nodes that only the control plane may change."""
    with controlplane_identity(zookeeper, digest) as gateway:
        if gateway.exists(root) is not None:
            gateway.delete(root, recursive=True)


def digest_of(settings: ControlPlaneSettings) -> str:
    assert settings.zookeeper_digest is not None, "the tests always run with digest ACLs"
    return settings.zookeeper_digest.get_secret_value()


def start_with_cluster(
    settings: ControlPlaneSettings,
    stack: ExitStack,
    *,
    create_cluster: bool = True,
    cleanup: bool = True,
) -> RunningControlPlane:
    """Serve ``settings``; create cluster ``local`` unless the database already has it;
    ``cleanup=False`` leaves the ZooKeeper nodes for a successor replica."""
    if cleanup:
        stack.callback(
            remove_protected_nodes,
            settings.zookeeper_connect,
            digest_of(settings),
            settings.zookeeper_root,
        )
    running = stack.enter_context(serve_in_thread(settings))
    if not create_cluster:
        return running
    with running.client() as client:
        created = client.post(
            "/api/v1/clusters",
            json={
                "name": "local",
                "kafka_bootstrap": settings.kafka_bootstrap,
                "zookeeper_connect": settings.zookeeper_connect,
                "zookeeper_root": settings.zookeeper_root,
            },
        )
        assert created.status_code == 201, created.text
    return running


def register_cluster(
    client: httpx.Client, name: str, kafka: str, zookeeper: str, root: str = "/turnout"
) -> None:
    """Register cluster ``name`` (admin client, base URL the server's)."""
    created = client.post(
        "/api/v1/clusters",
        json={
            "name": name,
            "kafka_bootstrap": kafka,
            "zookeeper_connect": zookeeper,
            "zookeeper_root": root,
        },
    )
    assert created.status_code == 201, created.text


def deployment_body(name: str, group: str, topics: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cluster": "local",
        "live": {"group": group, "topics": topics},
        "colours": {"blue": {"version": "1.0"}, "green": {"version": "2.0"}},
        **extra,
    }


def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    """Write ``per_partition[p]`` records to each partition ``p`` of ``topic`` and wait for them."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def create_deployment(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/deployments", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def read_directive(zk: ZkGateway, deployment: str) -> Directive:
    data, _ = zk.get(DeploymentPaths("/turnout", deployment).directive)
    return Directive.from_bytes(data)


@dataclass
class FakeAgents:
    """Writes the nodes an agent would, in an (anonymous) session of its own."""

    zk: ZkGateway
    deployment: str
    group: str
    created: list[str] = field(default_factory=list)

    @property
    def paths(self) -> DeploymentPaths:
        return DeploymentPaths("/turnout", self.deployment)

    def register(self, instance: str, colour: Colour) -> None:
        registration = InstanceRegistration(
            instance=instance,
            colour=colour,
            version="1.0" if colour is Colour.BLUE else "2.0",
            host="test-host",
            pid=os.getpid(),
            started_at=utc_now(),
            session_id=self.zk.session_id,
        )
        self.zk.create(self.paths.instance(instance), registration.to_bytes(), ephemeral=True)

    def report(self, instance: str, colour: Colour, **fields: Any) -> None:
        """Write (or rewrite) ``instance``'s status report; ``fields`` override the
        defaults (``ready=True``, ``processing_version=1``, ...)."""
        status = InstanceStatus(
            instance=instance,
            colour=colour,
            version="1.0" if colour is Colour.BLUE else "2.0",
            epoch=1,
            state="RUNNING",
            **fields,
        )
        path = self.paths.status(instance)
        if self.zk.exists(path) is None:
            self.zk.create(path, status.to_bytes(), ephemeral=True, makepath=True)
        else:
            self.zk.set(path, status.to_bytes())

    def own(self, topic: str, partition: int, instance: str, colour: Colour, epoch: int) -> None:
        path = self.paths.owner(self.group, topic, partition)
        data = Ownership(
            instance=instance, colour=colour, session_id=self.zk.session_id, epoch=epoch
        ).to_bytes()
        self.zk.create(path, data, ephemeral=True, makepath=True)

    def release(self, topic: str, partition: int) -> None:
        with contextlib.suppress(ZkNoNodeError):
            self.zk.delete(self.paths.owner(self.group, topic, partition))


def wait_switch(client: httpx.Client, switch_id: str, states: set[str]) -> dict[str, Any]:
    """The switch once its state is one of ``states``; fails after ``SWITCH_WAIT_S``."""
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(client.get(f"/api/v1/switches/{switch_id}").json())
        return seen["state"] in states

    wait_until(reached, SWITCH_WAIT_S, lambda: f"switch stuck in {seen.get('state')}: {seen}")
    return dict(seen)


def live_state(cp: RunningControlPlane, deployment: str) -> dict[str, Any]:
    """``GET /deployments/{deployment}/state`` (200 asserted)."""
    with cp.client() as reader:
        found = reader.get(f"/api/v1/deployments/{deployment}/state")
    assert found.status_code == 200, found.text
    return dict(found.json())


def register_target(cp: RunningControlPlane, name: str, kafka: str, root: str = "/dr") -> str:
    """Register cluster ``name`` at ``kafka`` in the control plane's ZooKeeper under
    ``root`` (a mirror's target, say); its name."""
    with cp.client() as client:
        register_cluster(client, name, kafka, cp.settings.zookeeper_connect, root)
    return name


#: A CLI command against a local control plane, interpreter start-up included.
CLI_TIMEOUT_S = 60.0


def create_with_cli(
    cp: RunningControlPlane, body: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """`turnout deployments create --file` with ``body`` (exit code 0 asserted)."""
    body_file = tmp_path / f"{body['name']}.json"
    body_file.write_text(json.dumps(body))
    created = subprocess.run(
        [sys.executable, "-m", "turnout", "deployments", "create", "--file",
         str(body_file), "--url", cp.url, "--token", cp.tokens[ApiRole.ADMIN]],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return created
