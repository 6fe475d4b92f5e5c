"""ZooKeeper digest ACLs of the control plane.

This is the one control-plane module that imports kazoo, and only for ACL values: the
gateway (turnout/zk) takes a ``default_acl`` but has no ACL constructors of its own.

Layout of permissions under ``<root>/deployments/<deployment>``:

- the deployment node and its ``directive``: the control plane's digest identity may do
  everything, anyone may read. So only the control plane can write (or delete and
  recreate) the directive: ZooKeeper checks delete against the parent's ACL.
- ``instances/``, ``status/``, ``owners/``, ``offsets/``, ``assignments/``: open, so
  agents (anonymous or with a digest of their own) can create, change and delete their
  nodes there.
"""

from __future__ import annotations

from typing import Any

from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl


def digest_auth(user: str, password: str) -> list[tuple[str, str]]:
    """The ``auth`` argument of a gateway that authenticates as ``user``."""
    return [("digest", f"{user}:{password}")]


def controlplane_only_writes(user: str, password: str) -> list[Any]:
    """ACL: ``user`` may do anything, everyone else may only read."""
    return [make_digest_acl(user, password, all=True), make_acl("world", "anyone", read=True)]


def open_acl() -> list[Any]:
    return list(OPEN_ACL_UNSAFE)
