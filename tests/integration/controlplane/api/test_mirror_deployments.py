"""A mirror created as a deployment over REST: its target and naming validated (422 with
the field), written into the directive with the target's address, shown with each
topic's copy, fixed after creation, and its target cluster kept while it writes there.

Against a real control plane, ZooKeeper and Kafka, on SQLite only: the subject is the
mirror's part of the deployment, not the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.integration.controlplane.kit import (
    create_deployment,
    deployment_body,
    read_directive,
    register_target,
)
from tests.support.controlplane import RunningControlPlane
from turnout.zk import ZkGateway

#: The target cluster's address as registered: the API never connects to it.
TARGET_KAFKA = "127.0.0.1:19192"


def _fields(response: httpx.Response) -> dict[tuple[str, ...], str]:
    assert response.status_code == 422, response.text
    return {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}


def _mirror_body(unique: Callable[[str], str], topics: list[str], **mirror: Any) -> dict[str, Any]:
    return deployment_body(unique("mirror"), unique("group"), topics, mirror=mirror)


def test_a_mirror_deployment_carries_its_target_and_naming_into_the_directive(
    sqlite_controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    target = register_target(sqlite_controlplane, unique("dr"), TARGET_KAFKA)
    with sqlite_controlplane.client() as client:
        body = _mirror_body(
            unique,
            ["orders", "payments"],
            target_cluster=target,
            source_alias="eu",
            coordinate_headers=True,
            source_topic_pattern=r"orders\..*",
        )
        created = create_deployment(client, body)
        assert created["mirror"] == {
            "target_cluster": target,
            "source_alias": "eu",
            "naming": "prefix",
            "prefix": None,
            "template": None,
            "coordinate_headers": True,
            "source_topic_pattern": r"orders\..*",
            "target_topics": {"orders": "eu.orders", "payments": "eu.payments"},
        }
        # The pattern is the live binding's, for the agents to resolve.
        assert read_directive(zk, body["name"]).live.topic_pattern == r"orders\..*"
        spec = read_directive(zk, body["name"]).mirror
        assert spec is not None
        assert (spec.target_cluster, spec.target_kafka) == (target, TARGET_KAFKA)
        assert spec.topic_naming().target_topic("orders") == "eu.orders"
        assert spec.coordinate_headers

        # Fixed at creation: an update naming it is refused, not ignored.
        change = client.patch(
            f"/api/v1/deployments/{body['name']}", json={"mirror": {"target_cluster": "x"}}
        )
        assert change.status_code == 422
        assert "fixed at creation" in change.text
        # A cluster a mirror writes to cannot be deleted from under it.
        deleted = client.delete(f"/api/v1/clusters/{target}")
        assert deleted.status_code == 409
        assert "target of 1 mirror" in deleted.json()["detail"]
        # A plain deployment has no mirror part.
        plain = create_deployment(client, deployment_body(unique("plain"), unique("g"), ["t"]))
        assert plain["mirror"] is None
        assert read_directive(zk, plain["name"]).mirror is None


def test_a_mirror_that_cannot_be_one_is_422_naming_the_field(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    target = register_target(sqlite_controlplane, unique("dr"), TARGET_KAFKA)
    with sqlite_controlplane.client() as client:
        unknown = client.post(
            "/api/v1/deployments",
            json=_mirror_body(unique, ["orders"], target_cluster=unique("nowhere")),
        )
        assert "no cluster named" in _fields(unknown)[("body", "mirror", "target_cluster")]
        itself = client.post(
            "/api/v1/deployments", json=_mirror_body(unique, ["orders"], target_cluster="local")
        )
        assert "another cluster" in _fields(itself)[("body", "mirror", "target_cluster")]
        no_topic = client.post(
            "/api/v1/deployments",
            json=_mirror_body(unique, ["orders"], target_cluster=target, naming="template",
                              template="all-in-one"),
        )  # fmt: skip
        assert "{topic}" in str(_fields(no_topic))
        bad_name = client.post(
            "/api/v1/deployments",
            json=_mirror_body(unique, ["orders"], target_cluster=target, prefix="bad prefix/"),
        )
        assert "not a Kafka topic name" in _fields(bad_name)[("body", "mirror", "naming")]
        bad_pattern = client.post(
            "/api/v1/deployments",
            json=_mirror_body(unique, ["orders"], target_cluster=target,
                              source_topic_pattern="orders("),
        )  # fmt: skip
        field = ("body", "mirror", "source_topic_pattern")
        assert "not a regular expression" in _fields(bad_pattern)[field]
        with_preview = _mirror_body(unique, ["orders"], target_cluster=target)
        with_preview["preview"] = {"group": unique("preview"), "topics": ["orders"]}
        refused = client.post("/api/v1/deployments", json=with_preview)
        assert "no preview binding" in str(_fields(refused))
        listed = client.get("/api/v1/deployments", params={"limit": 500}).json()["data"]
    assert not [d for d in listed if d["mirror"] is not None and d["cluster"] == target]


def test_a_mirror_made_of_a_source_topic_pattern_alone_is_accepted_and_a_plain_one_is_not(
    sqlite_controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    target = register_target(sqlite_controlplane, unique("dr"), TARGET_KAFKA)
    with sqlite_controlplane.client() as client:
        body = _mirror_body(unique, [], target_cluster=target, source_topic_pattern=r"audit\..*")
        created = create_deployment(client, body)
        assert created["live"]["topics"] == []
        assert created["mirror"]["source_topic_pattern"] == r"audit\..*"
        assert created["mirror"]["target_topics"] == {}
        live = read_directive(zk, body["name"]).live
        assert (live.topics, live.topic_pattern) == ((), r"audit\..*")
        # Its live topics may be changed and emptied again: the pattern stays.
        listed = client.patch(
            f"/api/v1/deployments/{body['name']}",
            json={"live": {"group": body["live"]["group"], "topics": ["audit"]}},
        )
        assert listed.status_code == 200, listed.text
        emptied = client.patch(
            f"/api/v1/deployments/{body['name']}",
            json={"live": {"group": body["live"]["group"], "topics": []}},
        )
        assert emptied.status_code == 200, emptied.text
        assert read_directive(zk, body["name"]).live.topics == ()

        without_pattern = client.post(
            "/api/v1/deployments", json=_mirror_body(unique, [], target_cluster=target)
        )
        assert without_pattern.status_code == 422
        assert "live.topics is empty" in without_pattern.text
        plain = create_deployment(client, deployment_body(unique("plain"), unique("g"), ["t"]))
        group = plain["live"]["group"]
        refused = client.patch(
            f"/api/v1/deployments/{plain['name']}", json={"live": {"group": group, "topics": []}}
        )
        assert "live.topics is empty" in _fields(refused)[("body", "live", "topics")]
        assert read_directive(zk, plain["name"]).live.topics == ("t",)
