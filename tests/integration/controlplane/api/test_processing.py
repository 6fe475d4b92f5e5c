"""Processing settings over REST: set on create, changed field by field with PATCH, each
change a new settings version in the directive, refused with 422 naming the field,
audited; the live state shows which settings version each instance runs.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.integration.controlplane.kit import (
    FakeAgents,
    create_deployment,
    deployment_body,
    read_directive,
)
from tests.support.controlplane import RunningControlPlane
from turnout.protocol import Colour
from turnout.zk import ZkGateway


def _patch(client: httpx.Client, name: str, processing: dict[str, Any]) -> httpx.Response:
    return client.patch(f"/api/v1/deployments/{name}", json={"processing": processing})


def test_settings_are_created_changed_field_by_field_and_written_to_the_directive(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    with controlplane.client() as client:
        created = create_deployment(
            client,
            deployment_body(
                name, unique("group"), ["payments"], processing={"ordering": "key", "workers": 8}
            ),
        )
        assert created["processing"]["version"] == 1
        assert (created["processing"]["ordering"], created["processing"]["workers"]) == ("key", 8)
        assert created["processing"]["retries"]["max_retries"] == 3  # a default
        directive = read_directive(zk, name)
        assert directive.processing is not None and directive.processing.workers == 8

        changed = _patch(client, name, {"workers": 32, "retries": {"max_retries": 5}})
        assert changed.status_code == 200, changed.text
        settings = changed.json()["processing"]
        assert settings["version"] == 2 and settings["workers"] == 32
        assert settings["ordering"] == "key"  # untouched fields keep their values
        assert settings["retries"]["max_retries"] == 5 and settings["retries"]["backoff_ms"] == 500
        directive = read_directive(zk, name)
        assert directive.epoch == 2
        assert directive.processing is not None and directive.processing.version == 2
        assert directive.processing.retries.max_retries == 5

        # The same values again: no new settings version, no new directive epoch.
        same = _patch(client, name, {"workers": 32})
        assert same.json()["processing"]["version"] == 2 and read_directive(zk, name).epoch == 2

        # Newest first: the unchanged PATCH, then the change with what it changed.
        audit = client.get(
            "/api/v1/audit", params={"deployment": name, "action": "deployment.update"}
        ).json()["data"]
        assert [e["detail"]["processing_version"] for e in audit] == [2, 2]
        assert audit[0]["detail"]["processing_changes"] == []
        assert audit[1]["detail"]["processing_changes"] == [
            {"field": "workers", "old": 8, "new": 32},
            {"field": "retries.max_retries", "old": 3, "new": 5},
        ]


def test_refused_settings_are_422_naming_the_field_and_change_nothing(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    with controlplane.client() as client:
        create_deployment(client, deployment_body(name, unique("group"), ["payments"]))
        refused = {
            "ordering": ("lifo", ["body", "processing", "ordering"]),
            "workers": (0, ["body", "processing", "workers"]),
            "worker": (3, ["body", "processing", "worker"]),
        }
        for field, (value, loc) in refused.items():
            response = _patch(client, name, {field: value})
            assert response.status_code == 422, response.text
            [problem] = response.json()["detail"]
            assert problem["loc"] == loc, problem
        shared = _patch(client, name, {"outputs": {"e": {"live": "out", "preview": "out"}}})
        assert shared.status_code == 422
        assert "must never write to a live topic" in shared.text
        guarantee = _patch(client, name, {"guarantee": "at_most_once"})
        assert guarantee.status_code == 422
        assert "guarantee 'at_most_once' is not one of" in guarantee.text
        unknown_action = _patch(client, name, {"escalation": {"action": "explode"}})
        assert unknown_action.status_code == 422
        assert "escalation.action 'explode' is not one of" in unknown_action.text
        moved = client.patch(f"/api/v1/deployments/{name}", json={"workers": 4})
        assert moved.status_code == 422 and "moved into the processing object" in moved.text
        on_create = client.post(
            "/api/v1/deployments",
            json=deployment_body(
                unique("other"), unique("g"), ["t"], processing={"ordering": "lifo"}
            ),
        )
        assert on_create.status_code == 422
        assert on_create.json()["detail"][0]["loc"] == ["body", "processing", "ordering"]
        assert client.get(f"/api/v1/deployments/{name}").json()["processing"]["version"] == 1
        assert read_directive(zk, name).epoch == 1


def test_the_live_state_shows_each_instances_settings_version_refusal_and_readiness(
    controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    name, group = unique("dep"), unique("group")
    agents = FakeAgents(zk, name, group)
    with controlplane.client() as client:
        create_deployment(client, deployment_body(name, group, ["payments"]))
        assert _patch(client, name, {"workers": 2}).json()["processing"]["version"] == 2
        for instance, colour in (("blue-0", Colour.BLUE), ("green-0", Colour.GREEN)):
            agents.register(instance, colour)
        agents.report("blue-0", Colour.BLUE, processing_version=2, ready=True)
        agents.report(
            "green-0",
            Colour.GREEN,
            processing_version=1,
            processing_refused="ordering 'lifo' is not one of partition, key, unordered",
            ready=False,
        )
        state = client.get(f"/api/v1/deployments/{name}/state").json()
        assert state["processing_version"] == 2
        shown = {i["instance"]: i for i in state["instances"]}
        assert shown["blue-0"]["processing_current"] is True and shown["blue-0"]["ready"] is True
        assert shown["green-0"]["processing_current"] is False
        assert shown["green-0"]["processing_refused"].startswith("ordering 'lifo'")
        assert shown["green-0"]["ready"] is False
        assert state["readiness"]["blue"]["ready"] is True
        assert state["readiness"]["green"] == {
            "ready": False,
            "instances": 1,
            "ready_instances": 0,
            "refusal": "1 of 1 green instances are not ready: green-0 (warming up (RUNNING))",
        }
