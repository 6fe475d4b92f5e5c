"""Live state, lag history and the event stream of a deployment over REST.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.controlplane.kit import (
    FakeAgents,
    create_deployment,
    deployment_body,
    produce,
)
from tests.support.agent_kit import wait_until
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour
from turnout.zk import ZkGateway

#: The lag sampler runs every 0.5 s in these tests; two samples take about a second.
LAG_SAMPLES_WAIT_S = 10.0


def test_live_state_shows_instances_owners_and_lag_history(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    produce(controlplane.settings.kafka_bootstrap, topic, {0: 4})
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
