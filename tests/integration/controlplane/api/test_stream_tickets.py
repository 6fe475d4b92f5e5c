"""The event stream opened with a single-use stream ticket instead of a token in its URL.

Against a real control plane, ZooKeeper and Kafka, on SQLite only: the subject is the
ticket's life, not the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack

import httpx

from tests.integration.controlplane.kit import (
    cp_settings,
    create_deployment,
    deployment_body,
    start_with_cluster,
)
from tests.support.controlplane import ACCESS_LOG, RunningControlPlane
from tests.support.log_secrets import WATCH
from tests.support.services import Services
from turnout.controlplane.security import ApiRole

#: A 1 s stream ends at the first events loop turn after 1 s (0.2 s apart here); the rest
#: is a loaded machine's slack.
STREAM_END_WITHIN_S = 15.0


def _first_event(client: httpx.Client, url: str) -> list[str]:
    with client.stream("GET", url) as stream:
        assert stream.status_code == 200, stream.read()
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                return lines
    raise AssertionError(f"the stream ended before its first event: {lines}")


def _deployment(cp: RunningControlPlane, unique: Callable[[str], str]) -> str:
    name = unique("dep")
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    return name


def test_a_ticket_opens_the_stream_once_and_never_again(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = _deployment(sqlite_controlplane, unique)
    with sqlite_controlplane.client(ApiRole.VIEWER) as viewer:
        issued = viewer.post(f"/api/v1/deployments/{name}/stream-tickets")
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["ticket"].startswith("tst_")
    assert body["expires_in_s"] == 30.0
    assert body["events_url"] == f"/api/v1/deployments/{name}/events?ticket={body['ticket']}"
    with httpx.Client(base_url=sqlite_controlplane.url, timeout=30) as anonymous:
        lines = _first_event(anonymous, body["events_url"])
        assert lines[0] == "event: state"
        assert f'"deployment":"{name}"' in lines[1]
        again = anonymous.get(body["events_url"])
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]
    # The access log has the stream's requests, without their query strings.
    assert WATCH.log_dir is not None
    logged = (WATCH.log_dir / ACCESS_LOG).read_text().splitlines()
    stream_lines = [line for line in logged if f"/deployments/{name}/events" in line]
    assert len(stream_lines) == 2, stream_lines
    assert not any("?" in line or "tst_" in line for line in stream_lines), stream_lines


def test_a_ticket_for_one_deployment_does_not_open_another(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    mine, other = _deployment(sqlite_controlplane, unique), _deployment(sqlite_controlplane, unique)
    with sqlite_controlplane.client(ApiRole.VIEWER) as viewer:
        ticket = viewer.post(f"/api/v1/deployments/{mine}/stream-tickets").json()["ticket"]
    with httpx.Client(base_url=sqlite_controlplane.url, timeout=30) as anonymous:
        refused = anonymous.get(f"/api/v1/deployments/{other}/events", params={"ticket": ticket})
        assert refused.status_code == 401
        assert f"not for {other!r}" in refused.json()["detail"]
        # The refused attempt spent it: a ticket gives one try, not one per deployment.
        spent = anonymous.get(f"/api/v1/deployments/{mine}/events", params={"ticket": ticket})
        assert spent.status_code == 401


def test_a_token_in_the_stream_url_is_refused_with_the_way_to_do_it(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = _deployment(sqlite_controlplane, unique)
    token = sqlite_controlplane.tokens[ApiRole.ADMIN]
    with httpx.Client(base_url=sqlite_controlplane.url, timeout=30) as anonymous:
        refused = anonymous.get(
            f"/api/v1/deployments/{name}/events", params={"access_token": token}
        )
    assert refused.status_code == 401
    assert "access_token in the URL is not accepted" in refused.json()["detail"]
    assert "stream-tickets" in refused.json()["detail"]


def test_a_ticket_needs_a_token_and_an_existing_deployment(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = _deployment(sqlite_controlplane, unique)
    with httpx.Client(base_url=sqlite_controlplane.url, timeout=30) as anonymous:
        assert anonymous.post(f"/api/v1/deployments/{name}/stream-tickets").status_code == 401
        unknown = anonymous.get(f"/api/v1/deployments/{name}/events", params={"ticket": "tst_x"})
        assert unknown.status_code == 401
    with sqlite_controlplane.client(ApiRole.VIEWER) as viewer:
        missing = viewer.post(f"/api/v1/deployments/{unique('nope')}/stream-tickets")
        assert missing.status_code == 404


def test_a_bearer_header_still_opens_the_stream(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = _deployment(sqlite_controlplane, unique)
    with sqlite_controlplane.client(ApiRole.VIEWER) as viewer:
        lines = _first_event(viewer, f"/api/v1/deployments/{name}/events")
    assert lines[0] == "event: state"


def test_the_server_ends_a_stream_after_its_maximum_age(
    sqlite_url: str, zk_root: str, services: Services, unique: Callable[[str], str]
) -> None:
    settings = cp_settings(sqlite_url, zk_root, services.kafka, events_max_age_s=1.0)
    with ExitStack() as stack:
        cp = start_with_cluster(settings, stack)
        name = _deployment(cp, unique)
        started = time.monotonic()
        with (
            cp.client(ApiRole.VIEWER) as viewer,
            viewer.stream("GET", f"/api/v1/deployments/{name}/events") as stream,
        ):
            lines = list(stream.iter_lines())  # returns only when the server ends it
        took = time.monotonic() - started
    assert lines[0] == "event: state"
    assert 1.0 <= took < STREAM_END_WITHIN_S, f"the stream lasted {took:.1f} s"


def test_revoking_the_token_ends_its_open_stream(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    name = _deployment(sqlite_controlplane, unique)
    token_name = unique("watcher")
    with sqlite_controlplane.client() as admin:
        created = admin.post("/api/v1/tokens", json={"name": token_name, "role": "viewer"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        WATCH.record(token)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=sqlite_controlplane.url, timeout=30, headers=headers) as viewer,
            viewer.stream("GET", f"/api/v1/deployments/{name}/events") as stream,
        ):
            lines = stream.iter_lines()
            assert next(lines) == "event: state"
            revoked = admin.delete(f"/api/v1/tokens/{token_name}")
            assert revoked.status_code == 204, revoked.text
            started = time.monotonic()
            rest = list(lines)  # returns only when the server ends the stream
            took = time.monotonic() - started
    assert "event: error" in rest, rest
    assert any("no longer valid" in line for line in rest), rest
    assert took < STREAM_END_WITHIN_S, f"the stream outlived its token by {took:.1f} s"
