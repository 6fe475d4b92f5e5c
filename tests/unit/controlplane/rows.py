"""Database rows built in memory (no session), for the pure mappings of models and responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from turnout.controlplane.domain.switch_machine import initial_phases
from turnout.controlplane.models import Cluster, Deployment, Switch

AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


def cluster_row(**changes: Any) -> Cluster:
    values: dict[str, Any] = {
        "name": "local",
        "kafka_bootstrap": "127.0.0.1:9092",
        "zookeeper_connect": "127.0.0.1:2181",
        "zookeeper_root": "/turnout",
    }
    return Cluster(**(values | changes))


def deployment_row(**changes: Any) -> Deployment:
    values: dict[str, Any] = {
        "id": 1,
        "name": "billing",
        "cluster": cluster_row(),
        "live": {"group": "billing", "topics": ["payments"]},
        "preview": None,
        "strategy": "range",
        "processing": {"version": 1, "ordering": "partition", "workers": 4},
        "drain_timeout_ms": 10_000,
        "absent_pin_policy": "leave_unowned",
        "colours": {
            "blue": {"version": "1.4.0", "role": "live"},
            "green": {"version": "1.5.0", "role": "standby"},
        },
        "pins": {},
        "paused": False,
        "epoch": 7,
        "created_at": AT,
        "updated_at": AT,
        "version": 3,
    }
    return Deployment(**(values | changes))


def switch_row(deployment: Deployment, **changes: Any) -> Switch:
    values: dict[str, Any] = {
        "id": "0b6f6c1e-7d1c-4a53-9a43-2f8f0a1f5e11",
        "deployment": deployment,
        "kind": "switch",
        "from_colour": "blue",
        "to_colour": "green",
        "epoch": 8,
        "state": "directive_written",
        "reason": None,
        "requested_by": "alice",
        "requested_at": AT,
        "finished_at": None,
        "timeout_s": 60.0,
        "deadline_at": AT.replace(minute=1),
        "idempotency_key": None,
        "in_flight": True,
        "phases": initial_phases(AT.isoformat(), AT.isoformat()),
    }
    return Switch(**(values | changes))
