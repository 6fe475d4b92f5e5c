"""Supervised ZooKeeper sessions of the control plane, one per ensemble it talks to.

The API must answer 503 quickly while ZooKeeper is down, never hang or 500. So a link
connects in a background thread, retrying until it succeeds (kazoo then reconnects on
its own), and request handlers only ask ``require()``: connected now, or
:class:`ZkDownError` with the reason at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from turnout.controlplane.zk_acl import controlplane_only_writes, digest_auth, open_acl
from turnout.zk import Acl, ZkError, ZkGateway

log = logging.getLogger(__name__)

#: One connection attempt. A reachable loopback ZooKeeper answers in milliseconds; a
#: dead one should be retried soon enough for the API to recover within seconds.
CONNECT_ATTEMPT_S = 3.0
#: Pause between failed connection attempts (a dead server must not be hammered).
RETRY_PAUSE_S = 1.0
#: How long the first request to a cluster waits for its brand-new link, so the first
#: call after start is not a needless 503. Longer waits are what 503 is for.
FIRST_CONNECT_WAIT_S = 3.0
#: kazoo session timeout of the control plane's sessions.
SESSION_TIMEOUT_S = 10.0


class ZkDownError(Exception):
    """ZooKeeper is not reachable right now; the message says which and why."""


class ZkLink:
    def __init__(self, connect: str, *, digest: tuple[str, str] | None) -> None:
        self.connect = connect
        self._digest = digest
        self._gateway: ZkGateway | None = None
        self._reason = f"ZooKeeper at {connect} is not connected yet (still connecting)"
        self._stop = threading.Event()
        self._connected_once = threading.Event()
        self._created = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"zk-link {connect}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def protected_acl(self) -> list[Acl] | None:
        """The ACL of the nodes only the control plane may write; None without a digest."""
        if self._digest is None:
            return None
        return controlplane_only_writes(*self._digest)

    def _make_gateway(self, *, open_nodes: bool = False) -> ZkGateway:
        if self._digest is None:
            return ZkGateway(self.connect, session_timeout_s=SESSION_TIMEOUT_S)
        user, password = self._digest
        acl = open_acl() if open_nodes else controlplane_only_writes(user, password)
        return ZkGateway(
            self.connect,
            session_timeout_s=SESSION_TIMEOUT_S,
            auth=digest_auth(user, password),
            default_acl=acl,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            gateway = self._make_gateway()
            try:
                gateway.start(timeout_s=CONNECT_ATTEMPT_S)
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
            # Only a brand-new link is given time; later callers get their 503 at once.
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

    @contextmanager
    def open_session(self) -> Iterator[ZkGateway]:
        """A short-lived session whose nodes are open to everyone (agents' directories)."""
        gateway = self._make_gateway(open_nodes=True)
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


class ZkLinks:
    """Links by connect string, created (and connected in the background) on first use."""

    def __init__(self, *, digest: tuple[str, str] | None) -> None:
        self._digest = digest
        self._links: dict[str, ZkLink] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, connect: str) -> ZkLink:
        with self._lock:
            if self._closed:
                raise ZkDownError("the control plane is shutting down")
            link = self._links.get(connect)
            if link is None:
                link = ZkLink(connect, digest=self._digest)
                self._links[connect] = link
                link.start()
            return link

    def require(self, connect: str) -> ZkGateway:
        return self.get(connect).require()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            links = list(self._links.values())
            self._links.clear()
        for link in links:
            link.stop()


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passed; True if it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()
