"""The agent's ephemeral znodes (instance, status and owner nodes), as plain functions
over the gateway.

Ephemerals are recognised as the agent's own by ``ephemeralOwner``: the current session
(a create whose reply was lost) or one of the agent's earlier, lost sessions (leftovers
the server has not expired yet). Error handling: every function lets ``ZkError`` through
(the caller retries at its next reconcile) except the outcomes it names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Container, Sequence
from dataclasses import dataclass
from typing import Literal

from turnout.protocol import Binding, DeploymentPaths
from turnout.protocol.partitions import PartitionId
from turnout.zk import (
    CreateOp,
    DeleteOp,
    WatchCallback,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkTransactionError,
    ZkUnavailableError,
)

#: Create attempts of one ephemeral before giving up for this round: the node can vanish
#: and reappear between our create and our look, but not forever.
PUT_ATTEMPTS = 3


def put_ephemeral(
    zk: ZkGateway,
    path: str,
    data: bytes,
    old_sessions: Container[int],
    watch: WatchCallback | None = None,
) -> bool:
    """Create or overwrite this session's ephemeral at ``path``. False while another live
    session holds it (an earlier process of the same instance, not yet expired); then
    ``watch`` fires when that node goes."""
    session = zk.session_id
    for _ in range(PUT_ATTEMPTS):
        try:
            zk.create(path, data, ephemeral=True, makepath=True)
            return True
        except ZkNodeExistsError:
            stat = zk.exists(path, watch=watch)
            if stat is None:
                continue
            if stat.ephemeral_owner == session:
                zk.set(path, data)
                return True
            if stat.ephemeral_owner in old_sessions:
                with contextlib.suppress(ZkNoNodeError, ZkBadVersionError):
                    zk.delete(path, version=stat.version)
                continue
            return False
    return False


@dataclass(frozen=True)
class OwnerNode:
    """An owner node this session holds, at ``version``."""

    path: str
    version: int


#: create_owner outcomes other than success.
Busy = Literal["busy"]  # another session holds the node; the watch fires when it goes
Retry = Literal["retry"]  # the node went (or a leftover of ours was deleted): try again now


def create_owner(
    zk: ZkGateway,
    path: str,
    data: bytes,
    old_sessions: Container[int],
    watch: WatchCallback,
) -> OwnerNode | Busy | Retry:
    """Create the ephemeral owner node, adopting it if our own session already holds it."""
    return create_owners(zk, [(path, data)], old_sessions, watch)[path]


def create_owners(
    zk: ZkGateway,
    nodes: Sequence[tuple[str, bytes]],
    old_sessions: Container[int],
    watch: WatchCallback,
) -> dict[str, OwnerNode | Busy | Retry]:
    """``create_owner`` of several nodes, in as few requests as a handover allows.

    1. One multi creating them all: after a handover the predecessor's nodes went
       together, and a batch that is all free is one request.
    2. Else the parents' children are listed with ``watch`` on them (one request per
       topic): a node listed is held, and the listing's watch fires when it goes. Held
       nodes are looked at one by one (ephemeral owner) only if this agent lost a
       session before, whose leftovers it deletes; a leftover of this session (a create
       whose reply was lost) is the sweep's, which the lost reply requested.
    3. The free ones are created with the requests pipelined.

    Raises the first error other than "exists" after every request has been answered
    (nodes created by the batch are then the sweep's, as with a lost create reply)."""
    if len(nodes) > 1:
        try:
            zk.transaction([CreateOp(path, data, ephemeral=True) for path, data in nodes])
        except ZkTransactionError:
            pass  # some node exists (or a parent is missing)
        else:
            return {path: OwnerNode(path, 0) for path, _ in nodes}
    listed: set[str] = set()
    for parent in sorted({path.rpartition("/")[0] for path, _ in nodes}):
        try:
            listed.update(f"{parent}/{name}" for name in zk.children(parent, watch=watch))
        except ZkNoNodeError:
            continue  # nothing claimed under it yet; the creates make it
    outcomes: dict[str, OwnerNode | Busy | Retry] = {}
    held = [path for path, _ in nodes if path in listed]
    if held and old_sessions:
        stats = zk.exists_many(held, watch=watch)
        for path in held:
            stat = stats[path]
            if stat is None:
                outcomes[path] = "retry"  # went between the listing and our look
            elif stat.ephemeral_owner in old_sessions:
                zk.delete(path, version=stat.version)
                outcomes[path] = "retry"
            else:
                outcomes[path] = "busy"
    else:
        outcomes.update((path, "busy") for path in held)
    free = [(path, data) for path, data in nodes if path not in listed]
    created = zk.create_many(free, ephemeral=True, makepath=True) if free else {}
    for path, error in created.items():
        if error is None:
            outcomes[path] = OwnerNode(path, 0)
        elif isinstance(error, ZkNodeExistsError):
            # Taken since the listing; its watch has fired or fires: look again then.
            outcomes[path] = "retry"
    for error in created.values():
        if error is not None and not isinstance(error, ZkNodeExistsError):
            raise error
    return outcomes


def delete_owner_nodes(
    zk: ZkGateway, nodes: Sequence[tuple[str, int]]
) -> dict[str, ZkError | None]:
    """Delete owner nodes (path, version) at once; per path None or what its delete raised.

    One ZooKeeper multi first: a release batch is one request (and one log entry) rather
    than one per partition, which is what a switch's handover waits for. If the multi
    fails (a node no longer ours: the rare case), each node is deleted on its own so the
    others still go and the caller learns which one failed."""
    if len(nodes) > 1:
        try:
            zk.transaction([DeleteOp(path, version) for path, version in nodes])
        except ZkTransactionError:
            pass
        except ZkUnavailableError as exc:
            return {path: exc for path, _ in nodes}  # outcome unknown, as per node
        else:
            return {path: None for path, _ in nodes}
    return zk.delete_many(nodes)


def sweep_owner_nodes(
    zk: ZkGateway,
    paths: DeploymentPaths,
    binding: Binding,
    ours: Container[int],
    held: Collection[PartitionId],
) -> list[PartitionId]:
    """Delete owner nodes of ``binding`` whose session is ours but which we do not hold
    (creates whose reply was lost, leftovers of a lost session); the partitions swept."""
    swept: list[PartitionId] = []
    for topic in binding.topics:
        base = f"{paths.owners}/{binding.group}/{topic}"
        try:
            names = zk.children(base)
        except ZkNoNodeError:
            continue
        for name in names:
            tp = (topic, int(name))
            stat = zk.exists(f"{base}/{name}")
            if stat is None or stat.ephemeral_owner not in ours or tp in held:
                continue
            with contextlib.suppress(ZkNoNodeError, ZkBadVersionError):
                zk.delete(f"{base}/{name}", version=stat.version)
                swept.append(tp)
    return swept
