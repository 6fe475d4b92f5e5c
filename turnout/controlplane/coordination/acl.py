"""ZooKeeper digest ACLs of the control plane.

The ACL entries come from the gateway package (``turnout.zk.acl``): no control-plane
module imports kazoo.

Layout of permissions under ``<root>/deployments/<deployment>``:

- the deployment node and its ``directive``: the control plane's digest identity may do
  everything, anyone may read. So only the control plane can write (or delete and
  recreate) the directive: ZooKeeper checks delete against the parent's ACL.
- ``instances/``, ``status/``, ``owners/``, ``offsets/``, ``assignments/``: open, so
  agents (anonymous or with a digest of their own) can create, change and delete their
  nodes there.
"""

from __future__ import annotations

from turnout.zk import Acl, digest_acl, world_read_acl
from turnout.zk import open_acl as _open_acl


def digest_auth(user: str, password: str) -> list[tuple[str, str]]:
    """The ``auth`` argument of a gateway that authenticates as ``user``."""
    return [("digest", f"{user}:{password}")]


def controlplane_only_writes(user: str, password: str) -> list[Acl]:
    """ACL: ``user`` may do anything, everyone else may only read."""
    return [digest_acl(user, password), world_read_acl()]


def open_acl() -> list[Acl]:
    return _open_acl()
