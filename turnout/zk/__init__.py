"""The typed gateway over kazoo that the agent and the control plane share."""

from turnout.zk.acl import Acl, digest_acl, open_acl, world_read_acl
from turnout.zk.errors import (
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
    "ZkBadVersionError",
    "ZkError",
    "ZkGateway",
    "ZkNoAuthError",
    "ZkNoNodeError",
    "ZkNodeExistsError",
    "ZkNotEmptyError",
    "ZkTransactionError",
    "ZkUnavailableError",
    "digest_acl",
    "open_acl",
    "world_read_acl",
]
