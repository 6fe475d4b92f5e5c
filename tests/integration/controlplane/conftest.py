"""Fixtures of the control-plane tests: a database (SQLite or PostgreSQL), a running
control plane on the test's ZooKeeper chroot and the shared Kafka, and a ``local`` cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.postgres import (
    PostgresUnavailableError,
    TempPostgres,
    create_database,
    temp_postgres,
)
from tests.support.services import Services
from turnout.controlplane.coordination.acl import digest_auth
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.zk import ZkGateway

#: The control plane's ZooKeeper identity in tests (digest ACLs are always on here).
CP_USER = "turnout-controlplane"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TempPostgres]:
    with ExitStack() as stack:
        try:
            server = stack.enter_context(temp_postgres())
        except PostgresUnavailableError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


def _database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'controlplane.db'}"
    server: TempPostgres = request.getfixturevalue("postgres_server")
    return create_database(server, f"t_{os.urandom(6).hex()}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: tests using this run once on SQLite and once on PostgreSQL."""
    return _database_url(str(request.param), request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'controlplane.db'}"


def cp_settings(
    database_url: str, zk_root: str, kafka: str, **overrides: object
) -> ControlPlaneSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "zookeeper_connect": zk_root,
        "zookeeper_root": "/turnout",
        "zookeeper_digest": f"{CP_USER}:secret-{os.urandom(4).hex()}",
        "kafka_bootstrap": kafka,
        "switch_poll_interval_s": 0.05,
        "reconcile_interval_s": 0.5,
        "lag_sample_interval_s": 0.5,
        "lag_window_s": 60,
        "events_interval_s": 0.2,
        "web_dist": Path("/nonexistent"),
    }
    values.update(overrides)
    return ControlPlaneSettings(**values)  # type: ignore[arg-type]


def _remove_protected_nodes(settings: ControlPlaneSettings) -> None:
    """Delete what the control plane created, as its digest identity: the chroot's
    anonymous teardown may not delete nodes that only the control plane may change."""
    assert settings.zookeeper_digest is not None
    user, _, password = settings.zookeeper_digest.get_secret_value().partition(":")
    gateway = ZkGateway(settings.zookeeper_connect, auth=digest_auth(user, password))
    gateway.start()
    try:
        if gateway.exists(settings.zookeeper_root) is not None:
            gateway.delete(settings.zookeeper_root, recursive=True)
    finally:
        gateway.stop()


def start_with_cluster(
    settings: ControlPlaneSettings,
    stack: ExitStack,
    *,
    create_cluster: bool = True,
    cleanup: bool = True,
) -> RunningControlPlane:
    """Serve ``settings``; create cluster ``local`` unless the database already has it;
    ``cleanup=False`` leaves the ZooKeeper nodes for a successor replica."""
    if cleanup:
        stack.callback(_remove_protected_nodes, settings)
    running = stack.enter_context(serve_in_thread(settings))
    if not create_cluster:
        return running
    with running.client() as client:
        created = client.post(
            "/api/v1/clusters",
            json={
                "name": "local",
                "kafka_bootstrap": settings.kafka_bootstrap,
                "zookeeper_connect": settings.zookeeper_connect,
                "zookeeper_root": settings.zookeeper_root,
            },
        )
        assert created.status_code == 201, created.text
    return running


@pytest.fixture
def controlplane(
    database_url: str, zk_root: str, services: Services
) -> Iterator[RunningControlPlane]:
    """A control plane on SQLite and on PostgreSQL (parametrised), with cluster ``local``."""
    with ExitStack() as stack:
        yield start_with_cluster(cp_settings(database_url, zk_root, services.kafka), stack)


@pytest.fixture
def sqlite_controlplane(
    sqlite_url: str, zk_root: str, services: Services
) -> Iterator[RunningControlPlane]:
    """The same on SQLite only, for tests whose subject is not the database."""
    with ExitStack() as stack:
        yield start_with_cluster(cp_settings(sqlite_url, zk_root, services.kafka), stack)
