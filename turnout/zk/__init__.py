"""The typed gateway over kazoo that the agent and the control plane share."""

from turnout.zk.acl import Acl, digest_acl, open_acl, sasl_acl, world_read_acl
from turnout.zk.errors import (
    ZkAuthFailedError,
    ZkBadVersionError,
    ZkError,
    ZkNoAuthError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkUnavailableError,
)
from turnout.zk.gateway import (
    CheckOp,
    ConnectionState,
    CreateOp,
    DeleteOp,
    NodeStat,
    SetOp,
    TxnOp,
    WatchCallback,
    WatchEvent,
    WatchKind,
    ZkGateway,
    ZkTransactionError,
)
from turnout.zk.security import ZkSecurity, ZkSecuritySettings, load_zk_security

__all__ = [
    "Acl",
    "CheckOp",
    "ConnectionState",
    "CreateOp",
    "DeleteOp",
    "NodeStat",
    "SetOp",
    "TxnOp",
    "WatchCallback",
    "WatchEvent",
    "WatchKind",
    "ZkAuthFailedError",
    "ZkBadVersionError",
    "ZkError",
    "ZkGateway",
    "ZkNoAuthError",
    "ZkNoNodeError",
    "ZkNodeExistsError",
    "ZkNotEmptyError",
    "ZkSecurity",
    "ZkSecuritySettings",
    "ZkTransactionError",
    "ZkUnavailableError",
    "digest_acl",
    "load_zk_security",
    "open_acl",
    "sasl_acl",
    "world_read_acl",
]
