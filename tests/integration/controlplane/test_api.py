"""REST API against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.controlplane.kit import (
    FakeAgents,
    create_deployment,
    deployment_body,
    read_directive,
    wait_switch,
)
from tests.support.agent_kit import wait_until
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour, Role, Strategy
from turnout.zk import ZkGateway, ZkNodeExistsError

#: The lag sampler runs every 0.5 s in these tests; two samples take about a second.
LAG_SAMPLES_WAIT_S = 10.0


def test_requests_need_a_token_and_a_high_enough_role(controlplane: RunningControlPlane) -> None:
    with httpx.Client(base_url=controlplane.url) as anonymous:
        response = anonymous.get("/api/v1/deployments")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        bad = anonymous.get("/api/v1/whoami", headers={"Authorization": "Bearer tnt_nope"})
        assert bad.status_code == 401
    with controlplane.client(ApiRole.VIEWER) as viewer:
        assert viewer.get("/api/v1/whoami").json()["role"] == "viewer"
        denied = viewer.post(
            "/api/v1/clusters",
            json={"name": "x", "kafka_bootstrap": "k:1", "zookeeper_connect": "z:1"},
        )
        assert denied.status_code == 403
        assert "needs admin" in denied.json()["detail"]
    with controlplane.client(ApiRole.OPERATOR) as operator:
        assert operator.get("/api/v1/tokens").status_code == 403


def test_deployment_crud_with_etag_and_directive_in_zookeeper(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name, group = unique("billing"), unique("group")
    with controlplane.client() as client:
        created = client.post(
            "/api/v1/deployments", json=deployment_body(name, group, ["payments"])
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["active_colour"] == "blue" and body["epoch"] == 1
        assert body["colours"]["green"] == {"version": "2.0", "role": "standby"}
        directive = read_directive(zk, name)
        assert directive.epoch == 1 and directive.live_colour is Colour.BLUE
        assert directive.live.group == group

        again = client.post("/api/v1/deployments", json=deployment_body(name, group, ["payments"]))
        assert again.status_code == 409

        fetched = client.get(f"/api/v1/deployments/{name}")
        etag = fetched.headers["etag"]
        stale = client.patch(
            f"/api/v1/deployments/{name}",
            json={"drain_timeout_ms": 5000},
            headers={"If-Match": '"999"'},
        )
        assert stale.status_code == 412
        patched = client.patch(
            f"/api/v1/deployments/{name}",
            json={"drain_timeout_ms": 5000, "colours": {"green": {"version": "2.1"}}},
            headers={"If-Match": etag},
        )
        assert patched.status_code == 200, patched.text
        assert patched.headers["etag"] != etag
        assert patched.json()["colours"]["green"]["version"] == "2.1"
        assert patched.json()["epoch"] == 2
        assert read_directive(zk, name).drain_timeout_ms == 5000
        # The old ETag is now stale.
        assert (
            client.patch(
                f"/api/v1/deployments/{name}", json={"workers": 2}, headers={"If-Match": etag}
            ).status_code
            == 412
        )

        listed = client.get("/api/v1/deployments", params={"limit": 1})
        assert listed.json()["count"] == 1 and len(listed.json()["data"]) == 1

        assert client.delete(f"/api/v1/deployments/{name}").status_code == 204
        assert client.get(f"/api/v1/deployments/{name}").status_code == 404
        assert zk.exists(f"/turnout/deployments/{name}/directive") is None


def test_validation_errors_are_422_with_the_field(controlplane: RunningControlPlane) -> None:
    with controlplane.client() as client:
        response = client.post(
            "/api/v1/deployments",
            json={
                "name": "x",
                "cluster": "local",
                "live": {"group": "g", "topics": []},
                "colours": {},
            },
        )
        assert response.status_code == 422
        fields = {tuple(item["loc"]) for item in response.json()["detail"]}
        assert ("body", "live", "topics") in fields
        assert ("body", "colours", "blue") in fields
        limit = client.get("/api/v1/deployments", params={"limit": 0})
        assert limit.status_code == 422


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
            json={"to": "green", "timeout_s": 30},
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
            json={"to": "green", "timeout_s": 30},
            headers={"Idempotency-Key": "k-1"},
        )
        assert replay.status_code == 202 and replay.json()["id"] == switch["id"]
        conflict = client.post(f"/api/v1/deployments/{name}/switch", json={"to": "blue"})
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

        rollback = client.post(f"/api/v1/deployments/{name}/rollback", json={"timeout_s": 1})
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
            response = client.post(f"/api/v1/deployments/{name}/switch", json={"to": "green"})
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


def test_pins_preview_shows_moves_and_put_writes_a_new_epoch(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=4), unique("dep"), unique("group")
    agents = FakeAgents(zk, name, group)
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
        agents.register("b-0", Colour.BLUE)
        agents.register("b-1", Colour.BLUE)
        agents.register("g-0", Colour.GREEN)
        # Pins ignore pin load: the unpinned 1..3 split by range over both (b-0: 1, 2; b-1: 3).
        for p, owner in enumerate(["b-0", "b-0", "b-0", "b-1"]):
            agents.own(topic, p, owner, Colour.BLUE, 1)
        pins = {"pins": {f"{topic}/0": "b-1"}, "absent_pin_policy": "leave_unowned"}
        preview = client.post(f"/api/v1/deployments/{name}/pins/preview", json=pins)
        assert preview.status_code == 200, preview.text
        assert preview.json() == {
            "moves": [{"partition": f"{topic}/0", "from_instance": "b-0", "to_instance": "b-1"}],
            "unowned": [],
        }
        absent = client.post(
            f"/api/v1/deployments/{name}/pins/preview",
            json={"pins": {f"{topic}/3": "nobody"}, "absent_pin_policy": "leave_unowned"},
        )
        assert absent.json()["unowned"] == [f"{topic}/3"]
        unknown = client.post(
            f"/api/v1/deployments/{name}/pins/preview", json={"pins": {f"{topic}/99": "b-0"}}
        )
        assert unknown.status_code == 422 and f"{topic}/99" in unknown.json()["detail"]

        put = client.put(f"/api/v1/deployments/{name}/pins", json=pins)
        assert put.status_code == 200, put.text
        assert put.json()["strategy"] == "manual" and put.json()["epoch"] == 2
        directive = read_directive(zk, name)
        assert directive.strategy is Strategy.MANUAL and directive.pins == {f"{topic}/0": "b-1"}


def test_pause_resume_and_audit_log_with_actor(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
        assert client.post(f"/api/v1/deployments/{name}/pause").json()["paused"] is True
        assert read_directive(zk, name).paused is True
        assert client.post(f"/api/v1/deployments/{name}/resume").json()["paused"] is False
        assert read_directive(zk, name).paused is False
        audit = client.get("/api/v1/audit", params={"deployment": name}).json()
        actions = [(e["action"], e["actor"]) for e in audit["data"]]
        operator = client.get("/api/v1/whoami").json()["name"]
        admin_name = admin.get("/api/v1/whoami").json()["name"]
        assert actions == [
            ("deployment.resume", operator),
            ("deployment.pause", operator),
            ("deployment.create", admin_name),
        ]
        only = client.get(
            "/api/v1/audit", params={"action": "deployment.pause", "deployment": name}
        )
        assert only.json()["count"] == 1


def _produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def test_offset_reset_plans_then_executes_only_when_unowned(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    _produce(controlplane.settings.kafka_bootstrap, topic, {0: 5, 1: 3})
    agents = FakeAgents(zk, name, group)
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
        plan = client.post(
            f"/api/v1/deployments/{name}/offsets/reset", json={"to": "latest", "dry_run": True}
        )
        assert plan.status_code == 200, plan.text
        assert plan.json() == {
            "executed": False,
            "partitions": [
                {"partition": f"{topic}/0", "current": None, "target": 5},
                {"partition": f"{topic}/1", "current": None, "target": 3},
            ],
        }
        agents.own(topic, 1, "b-0", Colour.BLUE, 1)
        refused = client.post(
            f"/api/v1/deployments/{name}/offsets/reset",
            json={
                "to": "explicit",
                "offsets": {f"{topic}/0": 2, f"{topic}/1": 1},
                "dry_run": False,
            },
        )
        assert refused.status_code == 409 and f"{topic}/1 by b-0" in refused.json()["detail"]
        agents.release(topic, 1)
        done = client.post(
            f"/api/v1/deployments/{name}/offsets/reset",
            json={
                "to": "explicit",
                "offsets": {f"{topic}/0": 2, f"{topic}/1": 1},
                "dry_run": False,
            },
        )
        assert done.status_code == 200 and done.json()["executed"] is True
        state = client.get(f"/api/v1/deployments/{name}/state").json()
        by_partition = {p["partition"]: p for p in state["partitions"]}
        assert by_partition[0]["committed_offset"] == 2 and by_partition[0]["lag"] == 3
        assert by_partition[1]["committed_offset"] == 1 and by_partition[1]["end_offset"] == 3
        assert state["lag_total"] == 5
        again = client.post(
            f"/api/v1/deployments/{name}/offsets/reset", json={"to": "earliest", "dry_run": True}
        )
        assert [p["current"] for p in again.json()["partitions"]] == [2, 1]


def test_offset_reset_holds_the_partitions_while_it_writes(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No agent can claim a partition between the ownership check and the write: the
    control plane owns the owner nodes meanwhile, and frees them afterwards."""
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    _produce(controlplane.settings.kafka_bootstrap, topic, {0: 4, 1: 4})
    owners = [f"/turnout/deployments/{name}/owners/{group}/{topic}/{p}" for p in (0, 1)]
    assert controlplane.context is not None
    kafka = controlplane.context.kafka
    seen_while_writing: list[bool] = []
    write = kafka.alter_committed

    def observed_write(*args: object, **kwargs: object) -> None:
        seen_while_writing.extend(zk.exists(path) is not None for path in owners)
        # An agent trying to claim now finds the node taken.
        with pytest.raises(ZkNodeExistsError):
            zk.create(owners[0], b"agent", ephemeral=True)
        write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(kafka, "alter_committed", observed_write)
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
        done = client.post(
            f"/api/v1/deployments/{name}/offsets/reset",
            json={
                "to": "explicit",
                "offsets": {f"{topic}/0": 1, f"{topic}/1": 2},
                "dry_run": False,
            },
        )
        assert done.status_code == 200, done.text
    assert seen_while_writing == [True, True]
    assert all(zk.exists(path) is None for path in owners)  # free again
    zk.create(owners[0], b"agent", ephemeral=True)  # an agent claims it now


def test_live_state_shows_instances_owners_and_lag_history(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    _produce(controlplane.settings.kafka_bootstrap, topic, {0: 4})
    agents = FakeAgents(zk, name, group)
    with controlplane.client(ApiRole.VIEWER) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
        agents.register("b-0", Colour.BLUE)
        agents.own(topic, 0, "b-0", Colour.BLUE, 1)
        state = client.get(f"/api/v1/deployments/{name}/state").json()
        assert state["zookeeper"] == "ok" and state["kafka"] == "ok"
        assert [(i["instance"], i["colour"], i["state"]) for i in state["instances"]] == [
            ("b-0", "blue", "registered")
        ]
        first = state["partitions"][0]
        assert (
            first["owner_instance"],
            first["owner_epoch"],
            first["end_offset"],
            first["lag"],
        ) == (
            "b-0",
            1,
            4,
            4,
        )
        assert state["partitions"][1]["owner_instance"] is None
        points: list[Any] = []

        def sampled_twice() -> bool:
            lag = client.get(f"/api/v1/deployments/{name}/lag", params={"window_s": 60})
            points[:] = lag.json()["points"]
            return len(points) >= 2

        wait_until(sampled_twice, LAG_SAMPLES_WAIT_S, lambda: f"lag points: {points}")
        assert points[-1]["total"] == 4
        assert points[-1]["partitions"] == {f"{topic}/0": 4, f"{topic}/1": 0}
        # Offsets never move while partition 0 has lag and an owner: a stall.
        assert client.get(f"/api/v1/deployments/{name}/state").json()["lag_status"] == "STALL"


def test_event_stream_sends_state_at_connect(
    controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    with controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    token = controlplane.tokens[ApiRole.VIEWER]
    with (
        httpx.Client(base_url=controlplane.url, timeout=30) as client,
        client.stream(
            "GET", f"/api/v1/deployments/{name}/events", params={"access_token": token}
        ) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
        assert lines[0] == "event: state"
        assert f'"deployment":"{name}"' in lines[1]


def test_health_readiness_and_metrics(controlplane: RunningControlPlane) -> None:
    with httpx.Client(base_url=controlplane.url) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "zookeeper": "ok"}
        metrics = client.get("/metrics").text
        assert "turnout_http_requests_total" in metrics and "turnout_switches_total" in metrics


def test_directive_never_falls_behind_a_completed_request_while_the_reconciler_runs(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    """A reconciler turn that read the row before a request must not write its stale
    copy over the request's directive (both take the row lock)."""
    name = unique("dep")
    with controlplane.client(ApiRole.OPERATOR) as client, controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
        deadline = time.monotonic() + 3 * controlplane.settings.reconcile_interval_s
        paused = False
        while time.monotonic() < deadline:
            paused = not paused
            response = client.post(f"/api/v1/deployments/{name}/{'pause' if paused else 'resume'}")
            assert response.status_code == 200, response.text
            assert read_directive(zk, name).paused is paused
            time.sleep(0.03)
