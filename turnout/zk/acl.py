"""ZooKeeper ACL entries, so that no module outside ``turnout.zk`` imports kazoo.

An ``Acl`` is opaque to callers: they build lists of them here and hand them to
``ZkGateway(default_acl=...)``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Set
from typing import Any

from kazoo.security import (
    OPEN_ACL_UNSAFE,
    make_acl,
    make_digest_acl,
    make_digest_acl_credential,
)

#: kazoo's ACL value (a named tuple); callers only pass it on.
Acl = Any
#: Who a session is, as ACL entries name it: (scheme, id), e.g. ("sasl", "client").
AclIdentity = tuple[str, str]
#: The identity every session has.
ANYONE: AclIdentity = ("world", "anyone")


class Permission(enum.IntFlag):
    """ZooKeeper's permission bits."""

    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16


def digest_identity(user: str, password: str) -> AclIdentity:
    """How ACL entries name the digest identity ``user:password``."""
    return ("digest", make_digest_acl_credential(user, password))


def grants(acl: Iterable[Acl], identities: Set[AclIdentity], permission: Permission) -> bool:
    """True if an entry of ``acl`` gives ``permission`` to one of ``identities`` or to
    anyone (``ip`` entries are not judged: a client cannot know its address as seen)."""
    for entry in acl:
        if entry.perms & permission and (
            (entry.id.scheme, entry.id.id) == ANYONE or (entry.id.scheme, entry.id.id) in identities
        ):
            return True
    return False


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
