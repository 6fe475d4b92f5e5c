"""The typed gateway over kazoo that the agent and the control plane share."""

from turnout.zk.errors import (
    ZkBadVersionError,
    ZkError,
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
    "ZkNoNodeError",
    "ZkNodeExistsError",
    "ZkNotEmptyError",
    "ZkTransactionError",
    "ZkUnavailableError",
]
