"""Fixtures of the control-plane tests, built from ``kit``: a database (SQLite or
PostgreSQL), a running control plane on the test's ZooKeeper chroot and the shared Kafka,
and a ``local`` cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.integration.controlplane.kit import cp_settings, start_with_cluster
from tests.support.controlplane import RunningControlPlane
from tests.support.postgres import (
    PostgresUnavailableError,
    TempPostgres,
    create_database,
    temp_postgres,
)
from tests.support.services import Services


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
