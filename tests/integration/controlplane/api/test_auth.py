"""Bearer tokens and roles: every route needs a token whose role is high enough.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.security import ApiRole


def test_requests_need_a_token_and_a_high_enough_role(controlplane: RunningControlPlane) -> None:
    with httpx.Client(base_url=controlplane.url) as anonymous:
        response = anonymous.get("/api/v1/deployments")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        bad = anonymous.get("/api/v1/whoami", headers={"Authorization": "Bearer tnt_nope"})
        assert bad.status_code == 401
    with controlplane.client(ApiRole.VIEWER) as viewer:
        assert viewer.get("/api/v1/whoami").json()["role"] == "viewer"
        denied = viewer.post(
            "/api/v1/clusters",
            json={"name": "x", "kafka_bootstrap": "k:1", "zookeeper_connect": "z:1"},
        )
        assert denied.status_code == 403
        assert "needs admin" in denied.json()["detail"]
    with controlplane.client(ApiRole.OPERATOR) as operator:
        assert operator.get("/api/v1/tokens").status_code == 403
