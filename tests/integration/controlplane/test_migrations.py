"""Schema migrations on SQLite and PostgreSQL: 0002 folds a deployment's ordering and
workers columns into its processing settings, and back on downgrade; 0003 keeps existing
tokens working as they did (their role, no expiry, unscoped); 0004 adds a cluster's
credentials name and a deployment's ZooKeeper user, both empty; 0005 adds a mirror's
part, empty (existing deployments are not mirrors)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from alembic import command
from turnout.controlplane.db import alembic_config, make_engine, migrate
from turnout.protocol.processing import ProcessingSettings

NOW = "2026-11-24 22:00:00+00:00"


def _insert_deployment_at_0001(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO clusters (id, name, kafka_bootstrap, zookeeper_connect, "
                    "zookeeper_root, created_at, updated_at) "
                    "VALUES (1, 'local', 'k:9092', 'z:2181', '/turnout', :now, :now)"
                ),
                {"now": NOW},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO deployments (id, name, cluster_id, live, strategy, ordering, "
                    "workers, drain_timeout_ms, absent_pin_policy, colours, pins, paused, "
                    "epoch, created_at, updated_at, version) VALUES (1, 'billing', 1, :live, "
                    "'range', 'key', 16, 10000, 'leave_unowned', :colours, '{}', false, 3, "
                    ":now, :now, 1)"
                ),
                {
                    "live": json.dumps({"group": "billing", "topics": ["payments"]}),
                    "colours": json.dumps({"blue": {"version": "1", "role": "live"}}),
                    "now": NOW,
                },
            )
    finally:
        engine.dispose()


def _read(url: str, columns: str) -> sa.Row[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.text(f"SELECT {columns} FROM deployments")).one()
    finally:
        engine.dispose()
    return row


def test_0002_keeps_ordering_and_workers_as_settings_version_1_and_downgrades_back(
    database_url: str,
) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0001")
    _insert_deployment_at_0001(database_url)

    command.upgrade(config, "0002")
    [stored] = _read(database_url, "processing")
    processing = stored if isinstance(stored, dict) else json.loads(str(stored))
    settings = ProcessingSettings.model_validate(processing)
    assert (settings.version, settings.ordering, settings.workers) == (1, "key", 16)
    assert settings.retries == ProcessingSettings().retries  # the rest reads as defaults

    command.downgrade(config, "0001")
    assert tuple(_read(database_url, "ordering, workers")) == ("key", 16)


def test_0003_leaves_existing_tokens_unscoped_without_expiry_and_downgrades(
    database_url: str,
) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0002")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_at) "
                    "VALUES (1, 'ops', 'operator', :hash, :now)"
                ),
                {"hash": "ab" * 32, "now": NOW},
            )
        command.upgrade(config, "0003")
        with engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT role, expires_at, scope, previous_token_hash FROM api_tokens")
            ).one()
            team = connection.execute(sa.text("SELECT team FROM deployments")).all()
        assert tuple(row) == ("operator", None, None, None)
        assert team == []
        command.downgrade(config, "0002")
        with engine.connect() as connection:
            kept = connection.execute(sa.text("SELECT name, role FROM api_tokens")).one()
        assert tuple(kept) == ("ops", "operator")
    finally:
        engine.dispose()


def test_0004_adds_the_credentials_name_and_the_agents_zookeeper_user_as_null(
    database_url: str,
) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0001")
    _insert_deployment_at_0001(database_url)

    command.upgrade(config, "0004")
    assert tuple(_read(database_url, "zookeeper_user")) == (None,)

    command.downgrade(config, "0003")
    with pytest.raises(sa.exc.DBAPIError, match="zookeeper_user"):
        _read(database_url, "zookeeper_user")


def test_0005_leaves_existing_deployments_no_mirror_and_downgrades(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0001")
    _insert_deployment_at_0001(database_url)

    assert migrate(database_url) == "0005"
    assert tuple(_read(database_url, "mirror, mirror_target_cluster_id")) == (None, None)

    command.downgrade(config, "0004")
    with pytest.raises(sa.exc.DBAPIError, match="mirror"):
        _read(database_url, "mirror")
    assert tuple(_read(database_url, "zookeeper_user")) == (None,)
