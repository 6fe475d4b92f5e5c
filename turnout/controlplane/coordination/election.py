"""Leader election among control-plane replicas (ZooKeeper's recipe, on the control
plane's own ZooKeeper).

Every replica creates an ephemeral sequential node under ``<root>/controlplane/election``;
the one with the lowest sequence number leads. States of one replica::

    OUTSIDE ──is_leader(): node created──▶ CANDIDATE ──lowest node──▶ LEADING
    CANDIDATE/LEADING ──session expired (the node went with it)──▶ OUTSIDE
                      (the next is_leader() re-enters with a new node)
    any ──resign(): node deleted (or left to expire with the session)──▶ OUTSIDE

Two replicas may both believe they lead for a moment around an expiry; that is harmless
because every write the leader makes is a compare-and-set (ZooKeeper) or
compare-the-state (database) step. ZooKeeper unreachable means "not leading" until it is
back: a replica that cannot see the election must not act as leader.
"""

from __future__ import annotations

import contextlib

from turnout.controlplane.coordination.connections import ZkConnections, ZkDownError
from turnout.zk import ZkError, ZkNoNodeError


class LeaderElection:
    def __init__(
        self, connections: ZkConnections, *, connect: str, root: str, replica_id: str
    ) -> None:
        self._connections = connections
        self._connect = connect
        self._replica_id = replica_id
        self._dir = f"{'' if root == '/' else root}/controlplane/election"
        self._node: str | None = None

    def is_leader(self) -> bool:
        """Enter the election if outside it; True while this replica's node is the lowest."""
        try:
            gateway = self._connections.require(self._connect)
            if self._node is not None and gateway.exists(self._node) is None:
                self._node = None  # our session expired and took the node with it
            if self._node is None:
                if gateway.exists(self._dir) is None:
                    # Parents open to all (agents create deployments' siblings under the
                    # root); only the election nodes carry the control plane's ACL.
                    connection = self._connections.get(self._connect)
                    with connection.open_session() as opened:
                        opened.ensure_path(self._dir)
                self._node = gateway.create(
                    f"{self._dir}/n-", self._replica_id.encode(), ephemeral=True, sequence=True
                )
            children = gateway.children(self._dir)
        except (ZkDownError, ZkError):
            return False
        return bool(children) and f"{self._dir}/{min(children)}" == self._node

    def resign(self) -> None:
        node, self._node = self._node, None
        if node is None:
            return
        # If this fails, the session ends right after and the node goes with it.
        with contextlib.suppress(ZkDownError, ZkNoNodeError, ZkError):
            self._connections.require(self._connect).delete(node)
