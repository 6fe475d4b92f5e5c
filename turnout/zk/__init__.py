"""The typed gateway over kazoo that the agent and the control plane share."""

from turnout.zk.errors import (
    ZkBadVersionError,
    ZkError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkUnavailableError,
)
from turnout.zk.gateway import ConnectionState, NodeStat, ZkGateway

__all__ = [
    "ConnectionState",
    "NodeStat",
    "ZkBadVersionError",
    "ZkError",
    "ZkGateway",
    "ZkNoNodeError",
    "ZkNodeExistsError",
    "ZkNotEmptyError",
    "ZkUnavailableError",
]
