"""Health, readiness and metrics of a control plane.

Against a real control plane, ZooKeeper and Kafka, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.support.controlplane import RunningControlPlane


def test_health_readiness_and_metrics(controlplane: RunningControlPlane) -> None:
    with httpx.Client(base_url=controlplane.url) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "zookeeper": "ok"}
        metrics = client.get("/metrics").text
        assert "turnout_http_requests_total" in metrics and "turnout_switches_total" in metrics
