"""The readiness gate of switches and rollbacks over REST: refused with 409 naming the
instances that are not ready, unless forced; ``wait_ready_ms`` waits for readiness,
bounded; an agent that does not report readiness does not block.

Against a real control plane and ZooKeeper, on SQLite and PostgreSQL; the agents are
status nodes written by hand, so readiness changes exactly when the test says."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.integration.controlplane.kit import (
    FakeAgents,
    create_deployment,
    deployment_body,
    read_directive,
    wait_switch,
)
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour, InstanceStatus
from turnout.zk import ZkGateway

#: When the waiting test's cold instance turns ready, after the request started waiting.
TURNS_READY_AFTER_S = 1.0


def new_deployment(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    unique: Callable[[str], str],
    topic: str = "payments",
) -> FakeAgents:
    """A new deployment on ``topic``, and the stand-in agents that will report for it."""
    agents = FakeAgents(zk, unique("dep"), unique("group"))
    with controlplane.client() as admin:
        create_deployment(admin, deployment_body(agents.deployment, agents.group, [topic]))
    return agents


def test_a_switch_to_a_colour_that_is_not_ready_is_refused_naming_the_instances(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    agents = new_deployment(controlplane, zk, unique)
    name = agents.deployment
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        url = f"/api/v1/deployments/{name}/switch"

        nobody = client.post(url, json={"to": "green"})
        assert nobody.status_code == 409
        assert "no green instance is registered" in nobody.json()["detail"]

        agents.register("green-0", Colour.GREEN)
        agents.register("green-1", Colour.GREEN)
        agents.report("green-0", Colour.GREEN, ready=True)
        agents.report("green-1", Colour.GREEN, ready=False)
        cold = client.post(url, json={"to": "green"})
        assert cold.status_code == 409
        assert cold.json()["detail"] == (
            "green is not ready to take over: 1 of 2 green instances are not ready: "
            "green-1 (warming up (RUNNING)). "
            "Pass wait_ready_ms to wait for it, or force to switch anyway."
        )
        state = client.get(f"/api/v1/deployments/{name}/state").json()
        assert state["readiness"]["green"]["ready_instances"] == 1
        assert admin.get(f"/api/v1/deployments/{name}/switches").json()["count"] == 0
        assert read_directive(zk, name).epoch == 1

        forced = client.post(url, json={"to": "green", "force": True})
        assert forced.status_code == 202, forced.text
        assert read_directive(zk, name).live_colour is Colour.GREEN
        audit = admin.get("/api/v1/audit", params={"deployment": name, "action": "switch"}).json()[
            "data"
        ]
        assert audit[0]["detail"]["force"] is True


def test_wait_ready_ms_waits_for_the_colour_then_switches(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    agents = new_deployment(controlplane, zk, unique)
    name = agents.deployment
    with controlplane.client(ApiRole.OPERATOR) as client:
        agents.register("green-0", Colour.GREEN)
        agents.report("green-0", Colour.GREEN, ready=False)
        url = f"/api/v1/deployments/{name}/switch"

        started = time.monotonic()
        too_short = client.post(url, json={"to": "green", "wait_ready_ms": 300})
        assert too_short.status_code == 409
        assert "after waiting 0.3 s" in too_short.json()["detail"]
        assert time.monotonic() - started >= 0.3

        warm = threading.Timer(
            TURNS_READY_AFTER_S, lambda: agents.report("green-0", Colour.GREEN, ready=True)
        )
        warm.start()
        try:
            started = time.monotonic()
            waited = client.post(url, json={"to": "green", "wait_ready_ms": 30_000})
            took = time.monotonic() - started
        finally:
            warm.cancel()
        assert waited.status_code == 202, waited.text
        assert TURNS_READY_AFTER_S * 0.9 <= took < 30
        assert read_directive(zk, name).live_colour is Colour.GREEN


def test_a_rollback_is_gated_like_a_switch_and_an_older_agent_does_not_block(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic = topic_factory(partitions=1)
    agents = new_deployment(controlplane, zk, unique, topic)
    name = agents.deployment
    with controlplane.client(ApiRole.OPERATOR) as client:
        agents.register("green-0", Colour.GREEN)
        agents.report("green-0", Colour.GREEN, ready=True)
        switched = client.post(f"/api/v1/deployments/{name}/switch", json={"to": "green"})
        assert switched.status_code == 202, switched.text
        wait_switch(client, switched.json()["id"], {"claiming"})
        agents.own(topic, 0, "green-0", Colour.GREEN, switched.json()["epoch"])
        assert wait_switch(client, switched.json()["id"], {"completed"})["state"] == "completed"

        agents.register("blue-0", Colour.BLUE)
        rollback = client.post(f"/api/v1/deployments/{name}/rollback", json={})
        assert rollback.status_code == 409
        assert "blue-0 (no status report yet)" in rollback.json()["detail"]

        # What an agent that predates readiness writes: no "ready" field at all.
        older = InstanceStatus(
            instance="blue-0", colour=Colour.BLUE, version="1.0", epoch=1, state="RUNNING"
        )
        zk.create(
            agents.paths.status("blue-0"),
            older.model_dump_json(exclude={"ready"}).encode(),
            ephemeral=True,
            makepath=True,
        )
        state = client.get(f"/api/v1/deployments/{name}/state").json()
        [blue] = [i for i in state["instances"] if i["instance"] == "blue-0"]
        assert blue["ready"] is True and "older agent" in blue["readiness_note"]
        rolled_back = client.post(f"/api/v1/deployments/{name}/rollback", json={})
        assert rolled_back.status_code == 202, rolled_back.text
        assert rolled_back.json()["to_colour"] == "blue"
