"""Input limits over HTTP: names in paths, ZooKeeper roots, list sizes, body size, query
windows, each refused with a status and a detail that names what was wrong.

Against a real control plane on SQLite (the limits are the API's, not the database's)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.controlplane import RunningControlPlane


def _fields(answer: Any) -> dict[str, str]:
    """``{"body.zookeeper_root": "Value error, ..."}`` from a 422's detail."""
    assert answer.status_code == 422, answer.text
    return {".".join(str(p) for p in item["loc"]): item["msg"] for item in answer.json()["detail"]}


@pytest.mark.parametrize(
    ("root", "says"),
    [
        ("/", "must not be /"),
        ("/zookeeper", "ZooKeeper's own tree"),
        ("/zookeeper/quota", "own tree"),
    ],
)
def test_a_cluster_in_zookeepers_reserved_tree_or_at_the_root_is_refused(
    sqlite_controlplane: RunningControlPlane, root: str, says: str
) -> None:
    body = {
        "name": "reserved",
        "kafka_bootstrap": "127.0.0.1:9092",
        "zookeeper_connect": "127.0.0.1:2181",
        "zookeeper_root": root,
    }
    with sqlite_controlplane.client() as admin:
        created = admin.post("/api/v1/clusters", json=body)
        moved = admin.put("/api/v1/clusters/local", json={"zookeeper_root": root})
    assert says in _fields(created)["body.zookeeper_root"]
    assert says in _fields(moved)["body.zookeeper_root"]


def test_names_in_paths_are_bounded_and_checked(sqlite_controlplane: RunningControlPlane) -> None:
    with sqlite_controlplane.client() as admin:
        too_long = admin.get("/api/v1/deployments/" + "d" * 201)
        bad_chars = admin.get("/api/v1/clusters/a%20b")
        bad_switch = admin.get("/api/v1/switches/" + "x" * 65)
        stream = admin.get("/api/v1/deployments/" + "d" * 201 + "/events", params={"ticket": "t"})
    assert "path.name" in _fields(too_long)
    assert "path.name" in _fields(stream)
    assert "path.name" in _fields(bad_chars)
    assert "path.switch_id" in _fields(bad_switch)


def test_lists_and_query_windows_have_maximums(sqlite_controlplane: RunningControlPlane) -> None:
    body = {
        "name": "many-topics",
        "cluster": "local",
        "live": {"group": "g", "topics": [f"t{i}" for i in range(101)]},
        "colours": {"blue": {"version": "1"}, "green": {"version": "2"}},
    }
    with sqlite_controlplane.client() as admin:
        topics = admin.post("/api/v1/deployments", json=body)
        window = admin.get("/api/v1/deployments/any/lag", params={"window_s": 86_401})
        page = admin.get("/api/v1/switches", params={"limit": 501})
    assert "at most 100 items" in _fields(topics)["body.live.topics"]
    assert "query.window_s" in _fields(window)
    assert "query.limit" in _fields(page)


def test_a_body_over_the_size_limit_is_refused_with_413(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    limit = sqlite_controlplane.settings.max_body_bytes
    with sqlite_controlplane.client() as admin:
        answer = admin.put(
            "/api/v1/deployments/any/pins",
            content=b'{"pins": {"' + b"x" * limit + b'": "i"}}',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"request body larger than {limit} bytes"}
