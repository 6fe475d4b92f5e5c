"""Supervised ZooKeeper connections of the control plane, one per ensemble it talks to.

The API must answer 503 quickly while ZooKeeper is down, never hang or 500. So a
connection is made in a background thread, retrying until it succeeds (kazoo then
reconnects on its own), and request handlers only ask ``require()``: connected now, or
:class:`ZkDownError` with the reason at once. ``call()`` runs one action on the
connected session and turns every "ZooKeeper cannot serve this" failure into
:class:`ZkDownError`, so callers choose between 503 and a domain error.

States of a :class:`ZkConnection`::

    CONNECTING ──session established──▶ CONNECTED ──kazoo reconnects on its own──▶ ...
    CONNECTING ──attempt failed──▶ (pause RETRY_PAUSE_S) ──▶ CONNECTING
    CONNECTING ──credentials refused──▶ (pause REFUSED_PAUSE_S) ──▶ CONNECTING
    any ──stop()──▶ STOPPED

While CONNECTING, ``require()`` waits at most what is left of ``FIRST_CONNECT_WAIT_S``
after creation, then raises :class:`ZkDownError`; a CONNECTED session that lost its
server raises at once (``connection lost``) until kazoo has reconnected it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from turnout.controlplane.coordination.acl import controlplane_only_writes, open_acl
from turnout.controlplane.coordination.credentials import CredentialsError, CredentialStore
from turnout.zk import (
    Acl,
    ZkAuthFailedError,
    ZkError,
    ZkGateway,
    ZkNoAuthError,
    ZkSecurity,
    ZkUnavailableError,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

#: One connection attempt. A reachable loopback ZooKeeper answers in milliseconds; a
#: dead one should be retried soon enough for the API to recover within seconds.
CONNECT_ATTEMPT_S = 3.0
#: Pause between failed connection attempts (a dead server must not be hammered).
RETRY_PAUSE_S = 1.0
#: How long the first request to a cluster waits for its brand-new connection, so the first
#: call after start is not a needless 503. Longer waits are what 503 is for.
FIRST_CONNECT_WAIT_S = 3.0
#: Pause after the server refused the credentials: only an operator's fix (a new password
#: file) helps, so asking often only fills the server's log.
REFUSED_PAUSE_S = 5.0
#: kazoo session timeout of the control plane's sessions.
SESSION_TIMEOUT_S = 10.0


class ZkDownError(Exception):
    """ZooKeeper is not reachable right now; the message says which and why."""


class ZkConnection:
    """The control plane's session with one ZooKeeper ensemble (see the module docstring).

    ``security``: TLS and the control plane's identity there. With an identity, every
    node the control plane creates is writable by it alone (readable by all), except the
    agents' directories (``open_session``)."""

    def __init__(self, connect: str, *, security: ZkSecurity) -> None:
        self.connect = connect
        self.security = security
        self._gateway: ZkGateway | None = None
        self._reason = f"ZooKeeper at {connect} is not connected yet (still connecting)"
        self._stop = threading.Event()
        self._connected_once = threading.Event()
        self._created = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"zk-connection {connect}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    @property
    def protected_acl(self) -> list[Acl] | None:
        """The ACL of the nodes only the control plane may write; None when anonymous."""
        if self.security.acl_identity() is None:
            return None
        return controlplane_only_writes(self.security)

    def _make_gateway(self, acl: list[Acl] | None = None) -> ZkGateway:
        return ZkGateway(
            self.connect,
            session_timeout_s=SESSION_TIMEOUT_S,
            security=self.security,
            default_acl=acl or self.protected_acl,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            gateway = self._make_gateway()
            try:
                gateway.start(timeout_s=CONNECT_ATTEMPT_S)
            except ZkAuthFailedError as exc:
                self._reason = f"{exc}; check the cluster's credentials file"
                log.error("%s", self._reason)
                self._stop.wait(REFUSED_PAUSE_S)
                continue
            except ZkError as exc:
                self._reason = f"ZooKeeper at {self.connect} is unreachable: {exc}"
                log.warning("%s", self._reason)
                self._stop.wait(RETRY_PAUSE_S)
                continue
            if self._stop.is_set():
                gateway.stop()
                return
            self._gateway = gateway
            self._connected_once.set()
            return

    def require(self) -> ZkGateway:
        """The connected gateway, or :class:`ZkDownError` saying why not."""
        if not self._connected_once.is_set():
            # Only a brand-new connection is given time; later callers get their 503 at once.
            remaining = self._created + FIRST_CONNECT_WAIT_S - time.monotonic()
            if remaining > 0:
                self._connected_once.wait(remaining)
        gateway = self._gateway
        if gateway is None:
            raise ZkDownError(self._reason)
        if not gateway.connected:
            raise ZkDownError(f"ZooKeeper at {self.connect} is unreachable (connection lost)")
        return gateway

    @property
    def status(self) -> str:
        """``"ok"`` or ``"unreachable: <reason>"`` without waiting."""
        gateway = self._gateway
        if gateway is not None and gateway.connected:
            return "ok"
        return f"unreachable: {self._reason if gateway is None else 'connection lost'}"

    def call(self, action: Callable[[ZkGateway], T]) -> T:
        """Run ``action`` on the session; every ZooKeeper failure becomes ZkDownError.

        Callers decide between 503 (unreachable) and a domain error; an unexpected kazoo
        error (e.g. missing permissions) is reported with its type, never as a 500.
        """
        gateway = self.require()
        try:
            return action(gateway)
        except ZkUnavailableError as exc:
            raise ZkDownError(f"ZooKeeper at {self.connect}: {exc}") from exc
        except ZkNoAuthError as exc:
            # Our identity lacks a permission (ACLs set by another control plane?): the
            # request cannot succeed until an operator fixes it; say so, never a 500.
            raise ZkDownError(
                f"ZooKeeper at {self.connect} refused the request (ACL): {exc}"
            ) from exc
        except ZkError as exc:
            if type(exc) is ZkError:  # a failure the gateway has no kind for
                raise ZkDownError(
                    f"ZooKeeper at {self.connect} refused the request: {exc}"
                ) from exc
            raise  # NoNode, NodeExists, BadVersion...: the caller's to handle

    @contextmanager
    def open_session(self, acl: list[Acl] | None = None) -> Iterator[ZkGateway]:
        """A short-lived session whose new nodes get ``acl`` (default: open to everyone):
        the agents' directories."""
        gateway = self._make_gateway(acl or open_acl())
        gateway.start(timeout_s=CONNECT_ATTEMPT_S)
        try:
            yield gateway
        finally:
            gateway.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CONNECT_ATTEMPT_S + 1)
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None


class ZkConnections:
    """Connections by connect string and credentials name, created (and connected in the
    background) on first use; the name is resolved by ``credentials``."""

    def __init__(self, credentials: CredentialStore) -> None:
        self.credentials = credentials
        self._connections: dict[tuple[str, str | None], ZkConnection] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, connect: str, credentials: str | None = None) -> ZkConnection:
        """ZkDownError if ``credentials`` cannot be resolved (the reason says why)."""
        with self._lock:
            if self._closed:
                raise ZkDownError("the control plane is shutting down")
            connection = self._connections.get((connect, credentials))
            if connection is None:
                try:
                    security = self.credentials.resolve(credentials).zookeeper
                except CredentialsError as exc:
                    raise ZkDownError(f"ZooKeeper at {connect}: {exc}") from None
                connection = ZkConnection(connect, security=security)
                self._connections[(connect, credentials)] = connection
                connection.start()
            return connection

    def require(self, connect: str) -> ZkGateway:
        return self.get(connect).require()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.stop()
