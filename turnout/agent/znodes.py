"""The agent's ZooKeeper reads and ephemeral writes, as plain functions over the gateway.

Error handling: every function lets ``ZkError`` through (the caller retries at its next
reconcile) except the outcomes it names. Ephemerals are recognised as the agent's own by
``ephemeralOwner``: the current session (a create whose reply was lost) or one of the
agent's earlier, lost sessions (leftovers the server has not expired yet).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Container, Sequence
from dataclasses import dataclass
from typing import Literal

from turnout.agent.dispatch import TP
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, InstanceRegistration
from turnout.zk import (
    WatchCallback,
    ZkBadVersionError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
)

#: Create attempts of one ephemeral before giving up for this round: the node can vanish
#: and reappear between our create and our look, but not forever.
PUT_ATTEMPTS = 3

logger = logging.getLogger("turnout.agent")


@dataclass(frozen=True)
class Snapshot:
    """The deployment as read in one reconcile."""

    directive: Directive | None
    #: (instance, colour) of every registered instance.
    registrations: tuple[tuple[str, Colour], ...]
    #: ``instances/``' children version at the read: orders two snapshots' member views.
    members_version: int


def read_snapshot(zk: ZkGateway, paths: DeploymentPaths, watch: WatchCallback) -> Snapshot:
    """Read the directive and the registrations, re-arming their watches."""
    try:
        data, _ = zk.get(paths.directive, watch=watch)
        directive: Directive | None = Directive.from_bytes(data)
    except ZkNoNodeError:
        zk.exists(paths.directive, watch=watch)  # fires when it is created
        directive = None
    try:
        names, stat = zk.children_with_stat(paths.instances, watch=watch)
    except ZkNoNodeError:
        zk.ensure_path(paths.instances)
        names, stat = zk.children_with_stat(paths.instances, watch=watch)
    found = zk.get_many([paths.instance(name) for name in names])
    registrations = []
    for name in names:
        node = found[paths.instance(name)]
        if node is None:
            continue  # left between the two reads; the children watch has fired
        registrations.append((name, InstanceRegistration.from_bytes(node[0]).colour))
    return Snapshot(directive, tuple(registrations), stat.children_version)


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
    """``create_owner`` of several nodes with the requests pipelined: one round trip for
    the creates, one for the looks at those that exist (a handover claims a batch).
    Raises the first error other than "exists" after every request has been answered
    (nodes created by the batch are then the sweep's, as with a lost create reply)."""
    session = zk.session_id
    created = zk.create_many(nodes, ephemeral=True, makepath=True)
    for error in created.values():
        if error is not None and not isinstance(error, ZkNodeExistsError):
            raise error
    existing = [path for path, error in created.items() if error is not None]
    stats = zk.exists_many(existing, watch=watch) if existing else {}
    data_of = dict(nodes)
    outcomes: dict[str, OwnerNode | Busy | Retry] = {}
    for path, error in created.items():
        if error is None:
            outcomes[path] = OwnerNode(path, 0)
            continue
        stat = stats[path]
        if stat is None:
            outcomes[path] = "retry"  # deleted between our create and our look
        elif stat.ephemeral_owner == session:
            # Ours: a create whose reply was lost. Adopt it with our data.
            outcomes[path] = OwnerNode(
                path, zk.set(path, data_of[path], version=stat.version).version
            )
        elif stat.ephemeral_owner in old_sessions:
            zk.delete(path, version=stat.version)
            outcomes[path] = "retry"
        else:
            outcomes[path] = "busy"
    return outcomes


def sweep_owner_nodes(
    zk: ZkGateway,
    paths: DeploymentPaths,
    binding: Binding,
    ours: Container[int],
    held: Collection[TP],
) -> list[TP]:
    """Delete owner nodes of ``binding`` whose session is ours but which we do not hold
    (creates whose reply was lost, leftovers of a lost session); the partitions swept."""
    swept: list[TP] = []
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
