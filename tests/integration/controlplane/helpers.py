"""Test helpers: deployment bodies, stand-in agents that write ZooKeeper nodes by hand
(to drive the switch watcher deterministically), waiting for a switch."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from turnout.protocol import Colour, DeploymentPaths, Directive, InstanceRegistration, Ownership
from turnout.protocol.models import utc_now
from turnout.zk import ZkGateway, ZkNoNodeError

#: Switch outcomes in these tests come from hand-written nodes and a 50 ms watcher.
SWITCH_WAIT_S = 20.0


def deployment_body(name: str, group: str, topics: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cluster": "local",
        "live": {"group": group, "topics": topics},
        "colours": {"blue": {"version": "1.0"}, "green": {"version": "2.0"}},
        **extra,
    }


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
    deadline = time.monotonic() + SWITCH_WAIT_S
    while True:
        found = client.get(f"/api/v1/switches/{switch_id}").json()
        if found["state"] in states:
            return dict(found)
        assert time.monotonic() < deadline, f"switch stuck in {found['state']}: {found}"
        time.sleep(0.05)
