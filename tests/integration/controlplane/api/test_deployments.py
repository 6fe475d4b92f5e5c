"""Deployments over REST: CRUD with ETag, validation, pause and resume with the audit log,
and the directive in ZooKeeper kept in step with every request.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.controlplane.kit import (
    create_deployment,
    deployment_body,
    read_directive,
)
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour
from turnout.zk import ZkGateway


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
        assert body["colours"]["green"] == {
            "version": "2.0", "role": "standby", "cluster": "local", "via_mirror": None,
        }  # fmt: skip
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
                f"/api/v1/deployments/{name}",
                json={"drain_timeout_ms": 1},
                headers={"If-Match": etag},
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
