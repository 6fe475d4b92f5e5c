"""On SQLite, requests that only read are served while another connection holds the
database's write lock (a request waiting on ZooKeeper inside its transaction, say), and
a request that writes waits for it: a page never freezes behind a slow writer.

A real control plane on a SQLite file, the lock taken by a second connection of the
test's own."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import make_url

from tests.integration.controlplane.kit import deployment_body
from tests.support.controlplane import RunningControlPlane

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
