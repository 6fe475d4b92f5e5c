"""kazoo's results and exceptions, translated into the gateway's types and error tree.

Every kazoo exception a request can raise becomes one of :mod:`turnout.zk.errors`, so no
caller outside ``turnout.zk`` ever sees a kazoo type.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from kazoo.exceptions import (
    AuthFailedError,
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NoAuthError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    OperationTimeoutError,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError

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
from turnout.zk.types import NodeStat, WatchCallback, WatchEvent, WatchKind


def node_stat(raw: Any) -> NodeStat:
    return NodeStat(
        version=int(raw.version),
        ephemeral_owner=int(raw.ephemeralOwner),
        created_ms=int(raw.ctime),
        modified_ms=int(raw.mtime),
        num_children=int(raw.numChildren),
        mzxid=int(raw.mzxid),
        children_version=int(raw.cversion),
        children_zxid=int(raw.pzxid),
    )


@contextlib.contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except NoNodeError as exc:
        raise ZkNoNodeError(str(exc) or "no node") from exc
    except NodeExistsError as exc:
        raise ZkNodeExistsError(str(exc) or "node exists") from exc
    except BadVersionError as exc:
        raise ZkBadVersionError(str(exc) or "bad version") from exc
    except NotEmptyError as exc:
        raise ZkNotEmptyError(str(exc) or "node has children") from exc
    except NoAuthError as exc:
        raise ZkNoAuthError(str(exc) or "not allowed by the node's ACL") from exc
    except AuthFailedError as exc:
        raise ZkAuthFailedError("ZooKeeper refused the session's credentials") from exc
    except (
        ConnectionLoss,
        ConnectionClosedError,
        SessionExpiredError,
        OperationTimeoutError,
        KazooTimeoutError,
    ) as exc:
        raise ZkUnavailableError(f"ZooKeeper unavailable: {type(exc).__name__}") from exc
    except KazooException as exc:  # the rest (InvalidACL, Unimplemented...): named, typed
        raise ZkError(f"{type(exc).__name__}: {exc}") from exc


def watch_relay(callback: WatchCallback) -> Callable[[Any], None]:
    def relay(event: Any) -> None:
        callback(WatchEvent(WatchKind(str(event.type)), str(event.path)))

    return relay


TRANSACTION_ERRORS: tuple[tuple[type[BaseException], type[ZkError]], ...] = (
    (NoNodeError, ZkNoNodeError),
    (NodeExistsError, ZkNodeExistsError),
    (BadVersionError, ZkBadVersionError),
    (NotEmptyError, ZkNotEmptyError),
    (NoAuthError, ZkNoAuthError),
)
