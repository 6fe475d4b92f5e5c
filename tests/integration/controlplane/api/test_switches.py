"""Switches over REST: followed through the owner nodes to the end, rolled back, and one
in flight per deployment however many requests race.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
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
from turnout.protocol import Colour, Role
from turnout.zk import ZkGateway


def test_switch_follows_owner_nodes_to_completion_then_rolls_back(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    agents = FakeAgents(zk, name, group)
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
        for p in (0, 1):
            agents.own(topic, p, "blue-0", Colour.BLUE, 1)
        started = client.post(
            f"/api/v1/deployments/{name}/switch",
            json={"to": "green", "timeout_s": 30, "force": True},
            headers={"Idempotency-Key": "k-1"},
        )
        assert started.status_code == 202, started.text
        switch = started.json()
        assert switch["epoch"] == 2 and switch["from_colour"] == "blue"
        directive = read_directive(zk, name)
        assert directive.epoch == 2 and directive.live_colour is Colour.GREEN
        assert directive.roles[Colour.BLUE] is Role.STANDBY
        assert directive.operation_id == switch["id"]

        replay = client.post(
            f"/api/v1/deployments/{name}/switch",
            json={"to": "green", "timeout_s": 30, "force": True},
            headers={"Idempotency-Key": "k-1"},
        )
        assert replay.status_code == 202 and replay.json()["id"] == switch["id"]
        conflict = client.post(
            f"/api/v1/deployments/{name}/switch", json={"to": "blue", "force": True}
        )
        assert conflict.status_code == 409 and "in flight" in conflict.json()["detail"]

        wait_switch(client, switch["id"], {"releasing"})
        agents.release(topic, 0)
        agents.release(topic, 1)
        wait_switch(client, switch["id"], {"claiming"})
        agents.own(topic, 0, "green-0", Colour.GREEN, 2)
        agents.own(topic, 1, "green-1", Colour.GREEN, 2)
        done = wait_switch(client, switch["id"], {"completed", "failed", "timed_out"})
        assert done["state"] == "completed", done
        assert all(p["ended_at"] is not None for p in done["phases"])
        assert [p["name"] for p in done["phases"]] == [
            "requested",
            "directive_written",
            "released",
            "claimed",
            "completed",
        ]
        assert admin.get(f"/api/v1/deployments/{name}").json()["last_switch"]["id"] == switch["id"]

        rollback = client.post(
            f"/api/v1/deployments/{name}/rollback", json={"timeout_s": 1, "force": True}
        )
        assert rollback.status_code == 202, rollback.text
        assert rollback.json()["to_colour"] == "blue" and rollback.json()["kind"] == "rollback"
        # Nobody releases green: the rollback times out and says where it was stuck.
        timed_out = wait_switch(client, rollback.json()["id"], {"completed", "failed", "timed_out"})
        assert timed_out["state"] == "timed_out"
        assert "old colour still owned 2 of 2" in timed_out["reason"]

        history = client.get(f"/api/v1/deployments/{name}/switches").json()
        assert history["count"] == 2
        assert client.get("/api/v1/switches", params={"state": "completed"}).json()["count"] >= 1


def test_ten_concurrent_switch_requests_exactly_one_wins(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    with controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    before = read_directive(zk, name).epoch
    barrier = threading.Barrier(10)
    statuses: list[int] = []
    lock = threading.Lock()

    def request() -> None:
        with controlplane.client(ApiRole.OPERATOR) as client:
            barrier.wait(timeout=30)
            response = client.post(
                f"/api/v1/deployments/{name}/switch", json={"to": "green", "force": True}
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [202] + [409] * 9
    assert read_directive(zk, name).epoch == before + 1
    with controlplane.client() as admin:
        deployment = admin.get(f"/api/v1/deployments/{name}").json()
        assert deployment["epoch"] == before + 1 and deployment["active_colour"] == "green"
        assert admin.get(f"/api/v1/deployments/{name}/switches").json()["count"] == 1
