"""A small typed surface over kazoo: the only module that imports it.

Error handling: every call translates kazoo's exceptions into the tree in
:mod:`turnout.zk.errors`. Connection-state listeners run on kazoo's event thread and
must not block (kazoo#355): they may only record the state or hand work to a thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    ConnectionLoss,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    OperationTimeoutError,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError

from turnout.zk.errors import (
    ZkBadVersionError,
    ZkError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkUnavailableError,
)

#: How long `start()` waits for the first session by default. Loopback connects in
#: milliseconds; this only matters when ZooKeeper is down, and then it must fail fast.
DEFAULT_CONNECT_TIMEOUT_S = 10.0


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


def _stat(raw: Any) -> NodeStat:
    return NodeStat(
        version=int(raw.version),
        ephemeral_owner=int(raw.ephemeralOwner),
        created_ms=int(raw.ctime),
        modified_ms=int(raw.mtime),
        num_children=int(raw.numChildren),
        mzxid=int(raw.mzxid),
    )


@contextlib.contextmanager
def _translated() -> Iterator[None]:
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
    except (ConnectionLoss, SessionExpiredError, OperationTimeoutError, KazooTimeoutError) as exc:
        raise ZkUnavailableError(f"ZooKeeper unavailable: {type(exc).__name__}") from exc


class ZkGateway:
    """One ZooKeeper session. ``hosts`` may carry a chroot: ``127.0.0.1:2181/turnout``."""

    def __init__(
        self,
        hosts: str,
        *,
        session_timeout_s: float = 10.0,
        auth: list[tuple[str, str]] | None = None,
        default_acl: list[Any] | None = None,
    ) -> None:
        self.hosts = hosts
        self._client = KazooClient(
            hosts=hosts,
            timeout=session_timeout_s,
            auth_data=auth,
            default_acl=default_acl,
            connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
        )

    # ---- session ------------------------------------------------------------------------

    def start(self, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
        try:
            self._client.start(timeout=timeout_s)
        except KazooTimeoutError as exc:
            self._client.stop()
            self._client.close()
            raise ZkUnavailableError(
                f"could not connect to ZooKeeper at {self.hosts} within {timeout_s:.0f} s"
            ) from exc

    def stop(self) -> None:
        """End the session (its ephemerals go at once) and release the client."""
        self._client.stop()
        self._client.close()

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    @property
    def session_id(self) -> int:
        """The server's id of this session; 0 before the first connect."""
        client_id = self._client.client_id
        return int(client_id[0]) if client_id else 0

    @property
    def negotiated_session_timeout_s(self) -> float:
        return float(self._client._session_timeout) / 1000.0  # kazoo keeps it private

    def add_state_listener(self, listener: Callable[[ConnectionState], None]) -> None:
        def relay(state: str) -> None:
            listener(ConnectionState(str(state)))

        self._client.add_listener(relay)

    # ---- reads --------------------------------------------------------------------------

    def exists(self, path: str) -> NodeStat | None:
        with _translated():
            raw = self._client.exists(path)
        return _stat(raw) if raw is not None else None

    def get(self, path: str) -> tuple[bytes, NodeStat]:
        with _translated():
            data, raw = self._client.get(path)
        return bytes(data or b""), _stat(raw)

    def children(self, path: str) -> list[str]:
        with _translated():
            names: list[str] = self._client.get_children(path)
        return sorted(names)

    def sync(self, path: str) -> None:
        """Make the next read of ``path`` at least as new as the leader's state."""
        with _translated():
            self._client.sync(path)

    # ---- writes -------------------------------------------------------------------------

    def ensure_path(self, path: str) -> None:
        with _translated():
            self._client.ensure_path(path)

    def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
    ) -> str:
        with _translated():
            created: str = self._client.create(
                path, data, ephemeral=ephemeral, sequence=sequence, makepath=makepath
            )
        return created

    def set(self, path: str, data: bytes, *, version: int = -1) -> NodeStat:
        """Write ``data``; with ``version`` >= 0 this is a compare-and-set."""
        with _translated():
            raw = self._client.set(path, data, version=version)
        return _stat(raw)

    def delete(self, path: str, *, version: int = -1, recursive: bool = False) -> None:
        with _translated():
            self._client.delete(path, version=version, recursive=recursive)


__all__ = ["ConnectionState", "NodeStat", "ZkError", "ZkGateway"]
