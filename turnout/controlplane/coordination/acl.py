"""ZooKeeper ACLs of the control plane.

The ACL entries come from the gateway package (``turnout.zk.acl``): no control-plane
module imports kazoo.

Layout of permissions under ``<root>/deployments/<deployment>``:

- the deployment node and its ``directive``: the control plane's identity (SASL or
  digest, ``ZkSecurity``) may do everything, anyone may read. So only the control plane
  can write (or delete and recreate) the directive: ZooKeeper checks delete against the
  parent's ACL.
- ``instances/``, ``status/``, ``owners/``, ``offsets/``, ``assignments/``: open, so
  agents (anonymous or with an identity of their own) can create, change and delete
  their nodes there; or, when the deployment names its agents' ZooKeeper user
  (``Deployment.zookeeper_user``), ``deployment_writes``: that user and the control plane
  may do everything, anyone may read. Agents create their own nodes with the ACL of the
  directory they are in (``ZkGateway.inherit_acl``), so an agent of another deployment
  can neither create, delete nor change a node of this one.
"""

from __future__ import annotations

from turnout.zk import Acl, ZkSecurity, sasl_acl, world_read_acl
from turnout.zk import open_acl as _open_acl


def digest_auth(user: str, password: str) -> list[tuple[str, str]]:
    """The ``auth`` argument of a gateway that claims the digest identity ``user``."""
    return [("digest", f"{user}:{password}")]


def controlplane_only_writes(controlplane: ZkSecurity) -> list[Acl]:
    """ACL: the control plane may do anything, everyone else may only read."""
    return [controlplane.identity_acl(), world_read_acl()]


def deployment_writes(controlplane: ZkSecurity, agents_user: str) -> list[Acl]:
    """ACL of a deployment's agent directories when its agents have a ZooKeeper user:
    that SASL user and the control plane may do anything, everyone else may only read."""
    return [controlplane.identity_acl(), sasl_acl(agents_user), world_read_acl()]


def open_acl() -> list[Acl]:
    return _open_acl()
