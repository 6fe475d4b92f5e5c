"""The gateway's own types: session states, node stats, watch events, transaction steps.

Plain data, so that callers on both sides can name them without importing kazoo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ConnectionState(StrEnum):
    """kazoo's session states (see kazoo.protocol.states.KazooState).

    CONNECTED ─▶ SUSPENDED (connection lost; the session may still live on the server)
    SUSPENDED ─▶ CONNECTED (reconnected within the session timeout: ephemerals kept)
    SUSPENDED ─▶ LOST      (reported only after reconnecting: the session had expired)
    LOST      ─▶ CONNECTED (a new session; every ephemeral must be recreated)
    """

    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"
    LOST = "LOST"


@dataclass(frozen=True)
class NodeStat:
    version: int
    ephemeral_owner: int
    created_ms: int
    modified_ms: int
    num_children: int
    mzxid: int
    #: Bumped by every child created or deleted: orders two reads of a children list.
    children_version: int = 0
    #: The zxid of the last child create or delete: unlike ``children_version`` unique
    #: across a deletion and re-creation of the node, so it identifies a children list.
    children_zxid: int = 0


class WatchKind(StrEnum):
    """What a one-shot watch saw (kazoo's EventType, minus NONE which is a state change)."""

    CREATED = "CREATED"
    DELETED = "DELETED"
    CHANGED = "CHANGED"
    CHILD = "CHILD"
    NONE = "NONE"


@dataclass(frozen=True)
class WatchEvent:
    kind: WatchKind
    path: str


#: A watch callback. It runs on kazoo's event thread: set a flag or enqueue, never block.
WatchCallback = Callable[[WatchEvent], None]


@dataclass(frozen=True)
class CheckOp:
    """Transaction step: fail unless ``path`` exists at ``version``."""

    path: str
    version: int


@dataclass(frozen=True)
class CreateOp:
    path: str
    data: bytes = b""
    ephemeral: bool = False


@dataclass(frozen=True)
class SetOp:
    path: str
    data: bytes
    version: int = -1


@dataclass(frozen=True)
class DeleteOp:
    path: str
    version: int = -1


TxnOp = CheckOp | CreateOp | SetOp | DeleteOp
