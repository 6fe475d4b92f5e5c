"""A colour that consumes a mirror's copies on another cluster (cluster migration) over
REST: checked against the mirror (422 naming the field), shown with the cluster each
colour runs on, written into the directive as each colour's side of the mirror, changed
only for a colour that is not live, and the mirror kept while a colour consumes it.

Against a real control plane, ZooKeeper and Kafka, on SQLite only: the subject is the
deployment's colours, not the database."""

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
from turnout.protocol import Colour
from turnout.protocol.crossing import Crossing, MirrorSide
from turnout.zk import ZkGateway

#: The target cluster's address as registered: the API never connects to it.
TARGET_KAFKA = "127.0.0.1:19192"


def _field(response: httpx.Response, *loc: str) -> str:
    assert response.status_code == 422, response.text
    found = {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}
    return found[("body", *loc)]


def _migrating(name: str, group: str, topics: list[str], **green: Any) -> dict[str, Any]:
    body = deployment_body(name, group, topics)
    body["colours"]["green"].update(green)
    return body


def test_a_colour_across_a_mirror_is_checked_shown_and_given_its_side_in_the_directive(
    sqlite_controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    target = register_target(sqlite_controlplane, unique("dr"), TARGET_KAFKA)
    with sqlite_controlplane.client() as client:
        mirror = unique("mirror")
        create_deployment(
            client,
            deployment_body(
                mirror, unique("copier"), ["orders"],
                mirror={"target_cluster": target, "source_topic_pattern": r"audit\..*"},
            ),
        )  # fmt: skip
        name, group = unique("billing"), unique("billing")
        created = create_deployment(
            client, _migrating(name, group, ["orders", "audit.eu"], via_mirror=mirror)
        )
        assert created["colours"]["green"] == {
            "version": "2.0", "role": "standby", "cluster": target, "via_mirror": mirror,
        }  # fmt: skip
        assert created["colours"]["blue"]["cluster"] == "local"
        assert created["colours"]["blue"]["via_mirror"] is None
        assert read_directive(zk, name).crossings == {
            Colour.BLUE: Crossing(mirror=mirror, side=MirrorSide.SOURCE, cluster="local"),
            Colour.GREEN: Crossing(mirror=mirror, side=MirrorSide.COPIES, cluster=target),
        }

        # The live colour's cluster changes only by a switch.
        live_change = client.patch(
            f"/api/v1/deployments/{name}", json={"colours": {"blue": {"via_mirror": mirror}}}
        )
        assert live_change.status_code == 409, live_change.text
        assert "changes only by a switch" in live_change.text
        # The standby colour comes back to the deployment's cluster, and goes again.
        back = client.patch(
            f"/api/v1/deployments/{name}", json={"colours": {"green": {"via_mirror": None}}}
        )
        assert back.status_code == 200, back.text
        assert back.json()["colours"]["green"]["cluster"] == "local"
        assert back.json()["colours"]["green"]["version"] == "2.0"
        assert read_directive(zk, name).crossings == {}
        again = client.patch(
            f"/api/v1/deployments/{name}",
            json={"colours": {"green": {"version": "2.1", "via_mirror": mirror}}},
        )
        assert again.status_code == 200, again.text
        assert again.json()["colours"]["green"]["cluster"] == target
        assert read_directive(zk, name).crossings[Colour.GREEN].side is MirrorSide.COPIES

        # A live topic the mirror does not copy is refused while a colour consumes it.
        uncopied = client.patch(
            f"/api/v1/deployments/{name}", json={"live": {"group": group, "topics": ["refunds"]}}
        )
        assert "does not copy refunds" in _field(uncopied, "live", "topics")
        # Its group commits on both clusters: an offset reset of one is refused.
        reset = client.post(f"/api/v1/deployments/{name}/offsets/reset", json={"to": "latest"})
        assert reset.status_code == 409, reset.text
        assert "consumes a mirror's copies" in reset.text
        # The mirror stays while a colour consumes its copies.
        kept = client.delete(f"/api/v1/deployments/{mirror}")
        assert kept.status_code == 409, kept.text
        assert f"a colour of {name} consumes the copies" in kept.text
        assert client.get(f"/api/v1/deployments/{mirror}").status_code == 200


def test_a_colour_that_cannot_consume_the_mirror_it_names_is_422_naming_the_field(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    target = register_target(sqlite_controlplane, unique("dr"), TARGET_KAFKA)
    with sqlite_controlplane.client() as client:
        mirror = unique("mirror")
        create_deployment(
            client,
            deployment_body(mirror, unique("copier"), ["orders"],
                            mirror={"target_cluster": target}),
        )  # fmt: skip
        plain = unique("plain")
        create_deployment(client, deployment_body(plain, unique("g"), ["orders"]))

        def refused(body: dict[str, Any], *loc: str) -> str:
            return _field(client.post("/api/v1/deployments", json=body), *loc)

        field = ("colours", "green", "via_mirror")
        assert "no deployment named 'nope'" in refused(
            _migrating(unique("d"), unique("g"), ["orders"], via_mirror="nope"), *field
        )
        assert "is not a mirror deployment" in refused(
            _migrating(unique("d"), unique("g"), ["orders"], via_mirror=plain), *field
        )
        assert "does not copy payments" in refused(
            _migrating(unique("d"), unique("g"), ["orders", "payments"], via_mirror=mirror),
            *field,
        )
        both = _migrating(unique("d"), unique("g"), ["orders"], via_mirror=mirror)
        both["colours"]["blue"]["via_mirror"] = mirror
        assert "at most one colour" in refused(both, "colours")
        with_preview = _migrating(unique("d"), unique("g"), ["orders"], via_mirror=mirror)
        with_preview["preview"] = {"group": unique("p"), "topics": ["orders"]}
        assert "preview binding cannot migrate" in refused(with_preview, *field)
        on_target = _migrating(unique("d"), unique("g"), ["orders"], via_mirror=mirror)
        on_target["cluster"] = target
        assert "copies from cluster 'local'" in refused(on_target, *field)
