"""Teams and scopes, on SQLite and PostgreSQL: a scoped token sees and acts on only the
deployments its patterns or teams cover; every other deployment is invisible (absent from
lists and counts, 404)."""

from __future__ import annotations

import httpx

from tests.integration.controlplane.kit import create_deployment, deployment_body
from tests.support.controlplane import RunningControlPlane


def _scoped(cp: RunningControlPlane, admin: httpx.Client, role: str, scope: object) -> httpx.Client:
    created = admin.post(
        "/api/v1/tokens", json={"name": f"scoped-{role}", "role": role, "scope": scope}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    return httpx.Client(base_url=cp.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_scoped_token_sees_only_deployments_of_its_teams_and_patterns(
    controlplane: RunningControlPlane,
) -> None:
    with controlplane.client() as admin:
        create_deployment(admin, deployment_body("pay-api", "g1", ["t"], team="payments"))
        create_deployment(admin, deployment_body("ledger-eu", "g2", ["t"]))
        create_deployment(admin, deployment_body("search", "g3", ["t"], team="search"))
        scope = {"teams": ["payments"], "patterns": ["ledger-*"]}
        with _scoped(controlplane, admin, "viewer", scope) as viewer:
            listed = viewer.get("/api/v1/deployments").json()
            assert [d["name"] for d in listed["data"]] == ["ledger-eu", "pay-api"]
            assert listed["count"] == 2
            assert viewer.get("/api/v1/deployments/pay-api").json()["team"] == "payments"
            hidden = viewer.get("/api/v1/deployments/search")
            absent = viewer.get("/api/v1/deployments/no-such")
            assert (hidden.status_code, absent.status_code) == (404, 404)
            assert hidden.json()["detail"] == "no deployment named 'search'"
            audit = viewer.get("/api/v1/audit", params={"limit": 500}).json()
            assert {e["deployment"] for e in audit["data"]} == {"pay-api", "ledger-eu"}
            assert viewer.get("/api/v1/whoami").json()["scope"] == scope


def test_a_scoped_admin_creates_and_relabels_only_within_its_scope(
    controlplane: RunningControlPlane,
) -> None:
    with controlplane.client() as admin:
        with _scoped(controlplane, admin, "admin", {"teams": ["payments"]}) as scoped:
            outside = scoped.post(
                "/api/v1/deployments", json=deployment_body("x", "gx", ["t"], team="search")
            )
            assert outside.status_code == 403
            inside = scoped.post(
                "/api/v1/deployments", json=deployment_body("y", "gy", ["t"], team="payments")
            )
            assert inside.status_code == 201, inside.text
            moved = scoped.patch("/api/v1/deployments/y", json={"team": "search"})
            assert moved.status_code == 403
            assert scoped.get("/api/v1/tokens").status_code == 403  # tokens need no scope
        assert admin.patch("/api/v1/deployments/y", json={"team": None}).json()["team"] is None


def test_a_malformed_scope_is_refused_with_422(controlplane: RunningControlPlane) -> None:
    with controlplane.client() as admin:
        for scope in ({}, {"patterns": ["a/b"]}, {"teams": ["has space"]}):
            response = admin.post(
                "/api/v1/tokens", json={"name": "bad", "role": "viewer", "scope": scope}
            )
            assert response.status_code == 422, scope
