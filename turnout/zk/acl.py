"""ZooKeeper ACL entries, so that no module outside ``turnout.zk`` imports kazoo.

An ``Acl`` is opaque to callers: they build lists of them here and hand them to
``ZkGateway(default_acl=...)``.
"""

from __future__ import annotations

from typing import Any

from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl

#: kazoo's ACL value (a named tuple); callers only pass it on.
Acl = Any


def digest_acl(user: str, password: str) -> Acl:
    """Everything allowed to the digest identity ``user:password``."""
    return make_digest_acl(user, password, all=True)


def sasl_acl(user: str) -> Acl:
    """Everything allowed to the SASL-authenticated identity ``user``."""
    return make_acl("sasl", user, all=True)


def world_read_acl() -> Acl:
    """Anyone may read."""
    return make_acl("world", "anyone", read=True)


def open_acl() -> list[Acl]:
    """Anyone may do anything (ZooKeeper's default for new nodes)."""
    return list(OPEN_ACL_UNSAFE)
