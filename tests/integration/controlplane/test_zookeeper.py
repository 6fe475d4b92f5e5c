"""ZooKeeper: outage answers 503 (never 500), the reconciler restores intent, digest ACLs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.integration.controlplane.kit import (
    controlplane_identity,
    cp_settings,
    create_deployment,
    deployment_body,
    digest_of,
    read_directive,
    remove_protected_nodes,
    start_with_cluster,
    wait_switch,
)
from tests.support.agent_kit import wait_until
from tests.support.controlplane import (
    ControlPlaneProcess,
    RunningControlPlane,
    make_tokens,
    serve_in_thread,
)
from tests.support.services import Services
from turnout.controlplane.coordination.acl import digest_auth
from turnout.controlplane.security import ApiRole
from turnout.devstack.process import free_port
from turnout.protocol import Colour, DeploymentPaths, Directive, Role
from turnout.protocol.directives import DirectiveStore
from turnout.zk import ZkGateway, ZkNoAuthError, ZkNoNodeError

#: The reconciler runs every 0.5 s in these tests; a few turns are plenty.
CONVERGE_S = 15.0


def test_mutations_answer_503_with_the_reason_while_zookeeper_is_unreachable(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    cp, name = sqlite_controlplane, unique("dep")
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
        moved = admin.put("/api/v1/clusters/local", json={"zookeeper_connect": dead})
        assert moved.status_code == 200
        calls: list[tuple[str, str, dict[str, object] | None]] = [
            ("POST", f"/api/v1/deployments/{name}/switch", {"to": "green"}),
            ("POST", f"/api/v1/deployments/{name}/pause", None),
            ("PUT", f"/api/v1/deployments/{name}/pins", {"pins": {}}),
            ("PATCH", f"/api/v1/deployments/{name}", {"drain_timeout_ms": 1}),
            ("POST", "/api/v1/deployments", deployment_body(unique("other"), unique("g"), ["t"])),
            ("DELETE", f"/api/v1/deployments/{name}", None),
        ]
        for method, path, body in calls:
            response = admin.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.text)
            assert dead in response.json()["detail"]
        # Reads of what the database knows keep working.
        assert admin.get(f"/api/v1/deployments/{name}").status_code == 200
        assert admin.get("/api/v1/audit").status_code == 200
        state = admin.get(f"/api/v1/deployments/{name}/state").json()
        assert state["zookeeper"].startswith("unreachable:") and state["instances"] == []
        # Nothing was recorded by the refused calls.
        assert admin.get(f"/api/v1/deployments/{name}/switches").json()["count"] == 0
        assert admin.get(f"/api/v1/deployments/{name}").json()["paused"] is False


def test_readiness_fails_with_the_reason_when_its_zookeeper_is_down(
    sqlite_url: str, services: Services
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    settings = cp_settings(sqlite_url, dead, services.kafka, background=False)
    with serve_in_thread(settings) as cp, httpx.Client(base_url=cp.url, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "zookeeper unreachable" in ready.json()["detail"]
        assert client.get("/healthz").status_code == 200


def _wait_directive(zk: ZkGateway, name: str, check: Callable[[Directive], bool]) -> Directive:
    """The directive once ``check`` holds for it (it may be missing while recreated)."""
    seen: list[Directive] = []

    def converged() -> bool:
        try:
            seen[:] = [read_directive(zk, name)]
        except ZkNoNodeError:
            return False
        return check(seen[0])

    wait_until(converged, CONVERGE_S, lambda: f"the reconciler did not converge: {seen}")
    return seen[0]


def test_reconciler_restores_a_lost_or_overwritten_directive(
    sqlite_controlplane: RunningControlPlane, zk: ZkGateway, unique: Callable[[str], str]
) -> None:
    cp, name = sqlite_controlplane, unique("dep")
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    paths = DeploymentPaths("/turnout", name)
    with controlplane_identity(cp.settings.zookeeper_connect, digest_of(cp.settings)) as gateway:
        # Someone with the control plane's identity makes green live behind its back.
        store = DirectiveStore(gateway, paths)
        store.update(
            lambda d: d.model_copy(
                update={"roles": {Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE}}
            )
        )
        restored = _wait_directive(zk, name, lambda d: d.live_colour is Colour.BLUE)
        assert restored.epoch == 3  # 1 created, 2 tampered, 3 restored: epochs only grow
        # The directive vanishes (ZooKeeper data lost): it comes back at a newer epoch.
        gateway.delete(paths.directive)
        recreated = _wait_directive(zk, name, lambda d: d.epoch > 3)
        assert recreated.live_colour is Colour.BLUE
    with cp.client() as admin:
        wait_until(
            lambda: admin.get(f"/api/v1/deployments/{name}").json()["epoch"] == recreated.epoch,
            CONVERGE_S,
            f"the database never recorded epoch {recreated.epoch}",
        )


def test_only_the_control_plane_identity_can_write_the_directive(
    sqlite_controlplane: RunningControlPlane, zk_root: str, unique: Callable[[str], str]
) -> None:
    cp, name = sqlite_controlplane, unique("dep")
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    paths = DeploymentPaths("/turnout", name)
    for auth in (None, digest_auth("agent", "agent-secret")):
        _check_agent_identity(zk_root, paths, auth)


def test_nodes_an_agent_created_first_are_closed_when_the_deployment_is_created(
    sqlite_controlplane: RunningControlPlane, zk_root: str, unique: Callable[[str], str]
) -> None:
    cp, name = sqlite_controlplane, unique("dep")
    paths = DeploymentPaths("/turnout", name)
    early = ZkGateway(zk_root)  # an agent started before its deployment existed
    early.start()
    try:
        early.ensure_path(paths.instances)
    finally:
        early.stop()
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    _check_agent_identity(zk_root, paths, None)


def _check_agent_identity(
    zk_root: str, paths: DeploymentPaths, auth: list[tuple[str, str]] | None
) -> None:
    agent = ZkGateway(zk_root, auth=auth)
    agent.start()
    try:
        data, stat = agent.get(paths.directive)  # readable by everyone
        refused: list[Callable[[], object]] = [
            lambda: agent.set(paths.directive, data, version=stat.version),
            lambda: agent.delete(paths.directive),
            lambda: agent.create(f"{paths.base}/rogue", b""),
        ]
        for attempt in refused:
            with pytest.raises(ZkNoAuthError):
                attempt()
        # ... while registering, reporting, owning and storing offsets work.
        agent.create(paths.instance("i-1"), b"{}", ephemeral=True)
        agent.create(paths.status("i-1"), b"{}", ephemeral=True)
        agent.create(paths.owner("g", "t", 0), b"{}", ephemeral=True, makepath=True)
        agent.create(paths.offset("g", "t", 0), b"1", makepath=True)
        agent.set(paths.offset("g", "t", 0), b"2")
        agent.delete(paths.offset("g", "t", 0))
        agent.delete(paths.owner("g", "t", 0))
    finally:
        agent.stop()


def test_a_replica_started_after_a_crash_finishes_a_pending_switch(
    sqlite_url: str, zk_root: str, zk: ZkGateway, services: Services, unique: Callable[[str], str]
) -> None:
    """A switch stored but never written (the request's replica died) is written by the
    leader's watcher once PENDING_GRACE_S has passed, and then followed as usual."""
    from turnout.controlplane.models import Switch
    from turnout.controlplane.services.switch_watcher import PENDING_GRACE_S

    name = unique("dep")
    settings = cp_settings(sqlite_url, zk_root, services.kafka, background=False)
    with ExitStack() as stack:
        cp = start_with_cluster(settings, stack, cleanup=False)
        with cp.client() as admin:
            create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
            started = admin.post(
                f"/api/v1/deployments/{name}/switch", json={"to": "green", "force": True}
            )
            assert started.status_code == 202
        # Rewind to "stored, directive not yet written": as if the replica died right
        # after committing the intent, with ZooKeeper still at epoch 1.
        assert cp.context is not None
        with cp.context.sessions() as session:
            switch = session.get(Switch, started.json()["id"])
            assert switch is not None
            switch.state, switch.epoch = "pending", None
            switch.requested_at = switch.requested_at.replace(year=switch.requested_at.year - 1)
            session.commit()
    assert PENDING_GRACE_S < CONVERGE_S
    with ExitStack() as stack:
        cp = start_with_cluster(
            settings.model_copy(update={"background": True}), stack, create_cluster=False
        )
        with cp.client(ApiRole.VIEWER) as client:
            not_pending = {"directive_written", "releasing", "claiming"}
            ended = {"completed", "failed", "timed_out"}
            found = wait_switch(client, started.json()["id"], not_pending | ended)
            assert found["epoch"] is not None and found["epoch"] >= 2
            assert read_directive(zk, name).live_colour is Colour.GREEN


def _leads(url: str) -> bool:
    """Whether the replica serving ``url`` says (in its metrics) that it leads."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return "turnout_reconciler_leader 1.0" in text.splitlines()


def _wait_leading(cp: RunningControlPlane) -> None:
    wait_until(lambda: _leads(cp.url), CONVERGE_S, f"{cp.settings.replica_id} never took the lead")


def _tamper(cp: RunningControlPlane, name: str) -> int:
    """Make green live behind the control plane's back; the epoch written."""
    with controlplane_identity(cp.settings.zookeeper_connect, digest_of(cp.settings)) as gateway:
        return _tamper_with(gateway, name)


def _tamper_with(gateway: ZkGateway, name: str) -> int:
    store = DirectiveStore(gateway, DeploymentPaths("/turnout", name))
    green_live = {Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE}
    changed = store.update(lambda d: d.model_copy(update={"roles": green_live}))
    return changed.directive.epoch


def test_two_replicas_elect_one_reconciler_and_the_other_takes_over_when_it_stops(
    sqlite_url: str, zk_root: str, zk: ZkGateway, services: Services, unique: Callable[[str], str]
) -> None:
    name = unique("dep")
    settings = cp_settings(sqlite_url, zk_root, services.kafka)
    with ExitStack() as stack:
        first_stack = stack.enter_context(ExitStack())
        first = start_with_cluster(
            settings.model_copy(update={"replica_id": "replica-a"}), first_stack, cleanup=False
        )
        _wait_leading(first)
        second = start_with_cluster(
            settings.model_copy(update={"replica_id": "replica-b"}), stack, create_cluster=False
        )
        with second.client() as admin:  # any replica serves the API
            create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
        # Several reconcile turns later the lead has not moved and is never shared.
        for _ in range(10):
            assert _leads(first.url) and not _leads(second.url)
            time.sleep(settings.reconcile_interval_s / 2)
        tampered = _tamper(first, name)
        restored = _wait_directive(zk, name, lambda d: d.epoch > tampered)
        assert restored.live_colour is Colour.BLUE
        # The leader stops: its election node goes with its session, the other leads.
        first_stack.close()
        _wait_leading(second)
        tampered = _tamper(second, name)
        restored = _wait_directive(zk, name, lambda d: d.epoch > tampered)
        assert restored.live_colour is Colour.BLUE


def test_a_sigkilled_leader_loses_the_lead_when_its_session_expires(
    zk_root: str,
    zk: ZkGateway,
    services: Services,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Two control-plane processes; the leader is SIGKILLed (no resignation): its
    election node goes with its session, and the other replica reconciles from then."""
    from turnout.controlplane.coordination.connections import SESSION_TIMEOUT_S
    from turnout.controlplane.db import migrate

    database_url = f"sqlite:///{tmp_path / 'controlplane.db'}"
    migrate(database_url)
    tokens = make_tokens(database_url)
    digest = f"turnout-controlplane:secret-{unique('s')[-8:]}"
    env = {
        **os.environ,
        "TURNOUT_DATABASE_URL": database_url,
        "TURNOUT_ZOOKEEPER_CONNECT": zk_root,
        "TURNOUT_ZOOKEEPER_DIGEST": digest,
        "TURNOUT_KAFKA_BOOTSTRAP": services.kafka,
        "TURNOUT_RECONCILE_INTERVAL_S": "0.5",
        "TURNOUT_WEB_DIST": str(tmp_path / "no-dashboard"),
    }
    replicas = [
        ControlPlaneProcess(
            env={**env, "TURNOUT_REPLICA_ID": f"replica-{letter}"},
            port=free_port(),
            log_path=tmp_path / f"replica-{letter}.out",
        )
        for letter in "ab"
    ]

    name = unique("dep")
    first, second = replicas
    try:
        first.start()
        wait_until(lambda: _leads(first.url), CONVERGE_S, "replica-a never led")
        second.start()
        headers = {"Authorization": f"Bearer {tokens[ApiRole.ADMIN]}"}
        with httpx.Client(base_url=f"{second.url}/api/v1", headers=headers, timeout=30) as api:
            cluster = {"name": "local", "kafka_bootstrap": services.kafka}
            cluster |= {"zookeeper_connect": zk_root, "zookeeper_root": "/turnout"}
            assert api.post("/clusters", json=cluster).status_code == 201
            created = api.post("/deployments", json=deployment_body(name, unique("g"), ["t"]))
            assert created.status_code == 201, created.text
        assert _leads(first.url) and not _leads(second.url)
        first.kill()
        # No resignation: the lead moves only when ZooKeeper expires the dead session.
        wait_until(lambda: _leads(second.url), SESSION_TIMEOUT_S + CONVERGE_S, "no takeover")
        with controlplane_identity(zk_root, digest) as writer:
            tampered = _tamper_with(writer, name)
        restored = _wait_directive(zk, name, lambda d: d.epoch > tampered)
        assert restored.live_colour is Colour.BLUE
    finally:
        for replica in replicas:
            replica.stop()
        remove_protected_nodes(zk_root, digest)
