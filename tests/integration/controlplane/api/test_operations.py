"""Pins and offset resets over REST: previews and dry runs first, then the writes.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.controlplane.kit import (
    FakeAgents,
    create_deployment,
    deployment_body,
    produce,
    read_directive,
)
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour, Strategy
from turnout.zk import ZkGateway, ZkNodeExistsError


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


def test_offset_reset_plans_then_executes_only_when_unowned(
    controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    produce(controlplane.settings.kafka_bootstrap, topic, {0: 5, 1: 3})
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
    produce(controlplane.settings.kafka_bootstrap, topic, {0: 4, 1: 4})
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


def test_an_offset_reset_of_a_binding_whose_topics_do_not_exist_says_so(
    controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name, topic = unique("dep"), unique("absent")
    with controlplane.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), [topic]))
        for dry_run in (True, False):
            reset = admin.post(
                f"/api/v1/deployments/{name}/offsets/reset",
                json={"to": "earliest", "dry_run": dry_run},
            )
            assert reset.status_code == 422, reset.text
            assert reset.json()["detail"] == (
                f"the live binding of {name!r} has no partitions on cluster 'local': "
                f"no topic of {topic} exists"
            )
