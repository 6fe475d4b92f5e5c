"""The readiness gate of a switch: refuse to hand the partitions to a colour that is not
ready (``domain.readiness``), or wait for it, bounded, when asked to.

States of one gate check::

    READ ──colour ready──▶ PASS
    READ ──not ready, time left──▶ (pause READY_POLL_S) ──▶ READ
    READ ──not ready, no time left──▶ REFUSED (409 naming the instances not ready)
    READ ──ZooKeeper unreachable──▶ ZkDownError (the API answers 503)

It reads the agents' status nodes directly (the same read as the live-state page) and
holds no database transaction while it waits: SQLite's transactions lock out every other
writer, the switch watcher's included.
"""

from __future__ import annotations

import time

from turnout.controlplane.coordination.agent_reports import read_instances
from turnout.controlplane.coordination.connections import ZkConnection
from turnout.controlplane.domain.readiness import ColourReadiness, colour_readiness
from turnout.controlplane.errors import ConflictError
from turnout.protocol import Colour, DeploymentPaths
from turnout.zk import ZkGateway

#: How often a waiting switch request looks at the status nodes again: agents rewrite
#: their status within a second of a change, and a read is one ZooKeeper round trip per
#: instance.
READY_POLL_S = 0.1


def read_readiness(
    connection: ZkConnection, paths: DeploymentPaths, colour: Colour
) -> ColourReadiness:
    def read(gateway: ZkGateway) -> ColourReadiness:
        found = read_instances(gateway, paths)
        return colour_readiness(colour, ((i.registration, i.status) for i in found))

    return connection.call(read)


def require_ready(
    connection: ZkConnection, paths: DeploymentPaths, colour: Colour, *, wait_s: float
) -> None:
    """Return once ``colour`` is ready; after ``wait_s`` (0: look once) raise 409 saying
    which instances are not and how to switch anyway."""
    deadline = time.monotonic() + wait_s
    while True:
        readiness = read_readiness(connection, paths, colour)
        refusal = readiness.refusal()
        if refusal is None:
            return
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
            raise ConflictError(
                f"{colour.value} is not ready to take over{waited}: {refusal}. "
                "Pass wait_ready_ms to wait for it, or force to switch anyway."
            )
        time.sleep(READY_POLL_S)
