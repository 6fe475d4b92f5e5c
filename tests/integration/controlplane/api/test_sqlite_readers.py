"""On SQLite, requests that only read are served while another connection holds the
database's write lock (a request waiting on ZooKeeper inside its transaction, say), and
a request that writes waits for it: a page never freezes behind a slow writer. The
leader's background work (the switch watcher, the reconciler) holds that lock only to
write, never while it waits on ZooKeeper.

A real control plane on a SQLite file, the lock taken by a second connection of the
test's own."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.integration.controlplane.kit import deployment_body
from tests.support.controlplane import RunningControlPlane
from turnout.controlplane.coordination.connections import ZkConnection
from turnout.controlplane.kafka_admin import KafkaAdmin
from turnout.controlplane.leader import LeaderLoop

#: A read served beside the writer answers in milliseconds; this allows a loaded machine.
READ_WITHIN_S = 5.0
#: How long the test holds the write lock while a writing request waits behind it.
HOLD_S = 2.0


def test_reads_are_served_while_a_writer_holds_the_lock_and_writes_wait_their_turn(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str]
) -> None:
    database = make_url(sqlite_controlplane.settings.database_url).database
    assert database
    name = unique("billing")
    with sqlite_controlplane.client() as client:
        created = client.post("/api/v1/deployments", json=deployment_body(name, unique("g"), ["t"]))
        assert created.status_code == 201, created.text

        writer = sqlite3.connect(database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, held
        try:
            started = time.monotonic()
            for path in ("/api/v1/deployments", f"/api/v1/deployments/{name}", "/api/v1/whoami"):
                assert client.get(path).status_code == 200, path
            assert time.monotonic() - started < READ_WITHIN_S

            # A write waits for the lock (not refused) and goes through once it is free.
            answers: list[int] = []
            patch = threading.Thread(
                target=lambda: answers.append(
                    client.patch(
                        f"/api/v1/deployments/{name}", json={"drain_timeout_ms": 5000}
                    ).status_code
                )
            )
            patch.start()
            time.sleep(HOLD_S)
            assert answers == []
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        patch.join(READ_WITHIN_S + HOLD_S)
        assert answers == [200]


#: How long a probe waits for the write lock: a writer's own short transaction (the
#: leader's lag sample, say) ends well within it; a transaction waiting on the very
#: call the probe runs in never does.
PROBE_WAIT_S = 0.5


def _write_lock_is_free(database: str) -> bool:
    """Whether another connection takes the write lock (and gives it back) promptly."""
    probe = sqlite3.connect(database, isolation_level=None, timeout=PROBE_WAIT_S)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return False
    finally:
        if probe.in_transaction:
            probe.execute("ROLLBACK")
        probe.close()
    return True


def test_the_leader_waits_on_zookeeper_with_the_write_lock_free(
    sqlite_controlplane: RunningControlPlane,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A look at an in-flight switch and a reconcile pass that finds the directive in step
    call ZooKeeper while any other connection could write: ZooKeeper taking seconds to
    answer holds no request up. Every ZooKeeper call the loop makes from this test's
    thread checks the lock first."""
    database = make_url(sqlite_controlplane.settings.database_url).database
    assert database and sqlite_controlplane.context is not None
    name = unique("billing")
    with sqlite_controlplane.client() as client:
        created = client.post("/api/v1/deployments", json=deployment_body(name, unique("g"), ["t"]))
        assert created.status_code == 201, created.text
        # No agent runs, so the switch stays in flight and is looked at on every turn.
        started = client.post(
            f"/api/v1/deployments/{name}/switch",
            json={"to": "green", "timeout_s": 60, "force": True},
        )
        assert started.status_code == 202, started.text

    tester = threading.current_thread()
    calls: list[bool] = []
    real_call = ZkConnection.call

    def checked_call(self: ZkConnection, action: Callable[..., object]) -> object:
        if threading.current_thread() is tester:
            calls.append(_write_lock_is_free(database))
        return real_call(self, action)

    monkeypatch.setattr(ZkConnection, "call", checked_call)
    loop = LeaderLoop(sqlite_controlplane.context)
    loop.advance_switches()
    looked = len(calls)
    loop.reconcile()
    assert looked >= 1, "the switch watcher made no ZooKeeper call"
    assert len(calls) > looked, "the reconciler made no ZooKeeper call"
    assert all(calls), f"the write lock was held during ZooKeeper calls: {calls}"


def test_previews_wait_on_zookeeper_and_kafka_with_the_write_lock_free(
    sqlite_controlplane: RunningControlPlane,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pin preview and an offset reset (its dry run and the reset itself) are POSTs
    that read ZooKeeper and Kafka before anything is written: each of those calls is
    made while any other connection could write."""
    database = make_url(sqlite_controlplane.settings.database_url).database
    assert database
    name, topic = unique("billing"), topic_factory(partitions=2)
    calls: list[tuple[str, bool]] = []
    real_call = ZkConnection.call
    real_partitions = KafkaAdmin.binding_partitions

    def checked_call(self: ZkConnection, action: Callable[..., object]) -> object:
        calls.append(("zookeeper", _write_lock_is_free(database)))
        return real_call(self, action)

    def checked_partitions(self: KafkaAdmin, *args: Any, **kwargs: Any) -> object:
        calls.append(("kafka", _write_lock_is_free(database)))
        return real_partitions(self, *args, **kwargs)

    with sqlite_controlplane.client() as client:
        created = client.post(
            "/api/v1/deployments", json=deployment_body(name, unique("g"), [topic])
        )
        assert created.status_code == 201, created.text
        monkeypatch.setattr(ZkConnection, "call", checked_call)
        monkeypatch.setattr(KafkaAdmin, "binding_partitions", checked_partitions)
        preview = client.post(f"/api/v1/deployments/{name}/pins/preview", json={"pins": {}})
        assert preview.status_code == 200, preview.text
        for dry_run in (True, False):
            reset = client.post(
                f"/api/v1/deployments/{name}/offsets/reset",
                json={"to": "earliest", "dry_run": dry_run},
            )
            assert reset.status_code == 200, reset.text
            assert reset.json()["executed"] is not dry_run
    assert {kind for kind, _ in calls} == {"zookeeper", "kafka"}
    assert all(free for _, free in calls), f"the write lock was held during: {calls}"
