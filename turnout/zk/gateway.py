"""A small typed surface over kazoo: the only module that imports it.

Error handling: every call translates kazoo's exceptions into the tree in
:mod:`turnout.zk.errors`. Connection-state listeners and watch callbacks run on kazoo's
event thread and must not block (kazoo#355): they may only record the state or hand work
to a thread.

Every request is bounded by ``request_timeout_s``. kazoo queues requests made while the
connection is down and would otherwise block the caller until it reconnects; on timeout
the gateway raises :class:`ZkUnavailableError` and the request's outcome is unknown (it
may still run after a reconnect within the same session, so callers that create
ephemerals must look for their own leftovers, see ``NodeStat.ephemeral_owner``).

A secured ZooKeeper (TLS, SASL or digest identity) is reached by passing a
:class:`~turnout.zk.security.ZkSecurity`; with SASL, ``start()`` returns only once the
server has accepted the credentials, and raises :class:`ZkAuthFailedError` if it refused
them.

Why this module is long: it is one seam, a thin bounded and translated method per kind of
ZooKeeper request; its types and error translation live beside it (``types.py``,
``translation.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    KazooException,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.handlers.threading import KazooTimeoutError

from turnout.zk.acl import ANYONE, AclIdentity, digest_identity
from turnout.zk.errors import (
    ZkAuthFailedError,
    ZkError,
    ZkNoNodeError,
    ZkUnavailableError,
)
from turnout.zk.security import ZkSecurity, kazoo_arguments
from turnout.zk.translation import TRANSACTION_ERRORS, node_stat, translated, watch_relay
from turnout.zk.types import (
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
)

#: How long `start()` waits for the first session by default. Loopback connects in
#: milliseconds; this only matters when ZooKeeper is down, and then it must fail fast.
DEFAULT_CONNECT_TIMEOUT_S = 10.0


class ZkTransactionError(ZkError):
    """A transaction was rolled back. ``failed`` is the index of the step that failed and
    ``cause`` what it raised (ZkBadVersionError, ZkNoNodeError, ...)."""

    def __init__(self, failed: int, cause: ZkError) -> None:
        super().__init__(f"transaction step {failed} failed: {type(cause).__name__}: {cause}")
        self.failed = failed
        self.cause = cause


class ZkGateway:
    """One ZooKeeper session. ``hosts`` may carry a chroot: ``127.0.0.1:2181/turnout``."""

    def __init__(
        self,
        hosts: str,
        *,
        session_timeout_s: float = 10.0,
        auth: list[tuple[str, str]] | None = None,
        default_acl: list[Any] | None = None,
        request_timeout_s: float | None = None,
        client_id: tuple[int, bytes] | None = None,
        security: ZkSecurity | None = None,
    ) -> None:
        """``request_timeout_s`` bounds every request (default: the session timeout, after
        which the outcome could not be known anyway). ``client_id`` (session id, password)
        attaches to an existing session: tests use it to close another client's session
        server-side, the standard way to force a real expiry. ``security``: TLS and the
        identity to authenticate as (``auth`` adds further digest identities)."""
        self.hosts = hosts
        self.security = security if security is not None else ZkSecurity()
        self.request_timeout_s = (
            request_timeout_s if request_timeout_s is not None else session_timeout_s
        )
        secured = kazoo_arguments(self.security)
        auth_data = [*secured.pop("auth_data", []), *(auth or [])]
        self._auth = list(auth or [])
        self._client = KazooClient(
            hosts=hosts,
            timeout=session_timeout_s,
            auth_data=auth_data or None,
            default_acl=default_acl,
            client_id=client_id,
            connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
            **secured,
        )
        # kazoo keeps a set of watchers per path until the watch fires; one relay per
        # callback (bound methods compare equal) keeps re-arming a watch from growing it.
        self._relays: dict[WatchCallback, Callable[[Any], None]] = {}
        #: The only session writes may go out on (None: any), see ``bind_session``.
        self._bound_session: int | None = None

    def _relay(self, callback: WatchCallback | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None
        relay = self._relays.get(callback)
        if relay is None:
            relay = self._relays[callback] = watch_relay(callback)
        return relay

    def bind_session(self, session_id: int | None) -> None:
        """Write only on session ``session_id`` from now on (None: on any session).

        kazoo sends a request on whatever session it has when the request goes out, and
        after an expiry it opens a new session by itself. A caller whose writes are meant
        for one session (its ephemerals, versions it read under it) must not write on the
        next before it has seen the change: an ephemeral deleted with the old session
        and created again by another client has the same path and version, so a
        version-checked delete or set meant for the old node would hit the new one. Bound,
        a write while the client is on another session, or getting a new one, fails with
        ``ZkUnavailableError`` at once. Writes made while the bound session is only
        suspended still wait for it (kazoo fails them if it turns out to have expired).
        Reads are not held back: they change nothing."""
        self._bound_session = session_id

    def _check_session(self) -> None:
        bound = self._bound_session
        if bound is not None and self._client._session_id != bound:  # kazoo keeps it private
            raise ZkUnavailableError(f"ZooKeeper session changed from 0x{bound:x}; not written")

    def _wait(self, async_result: Any) -> Any:
        """Wait for a kazoo async result, bounded by ``request_timeout_s``."""
        with translated():
            return async_result.get(timeout=self.request_timeout_s)

    # ---- session ------------------------------------------------------------------------

    def start(self, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
        """Open the session; with SASL, wait until the server has judged the credentials.

        Raises ZkUnavailableError when no session could be had within ``timeout_s`` (the
        server is down, or refuses this transport: TLS to a plaintext port or the
        reverse, an untrusted certificate), ZkAuthFailedError when it refused the
        credentials, another ZkError when kazoo's check of the chroot failed
        (ZkNoAuthError: the identity may not read it)."""
        deadline = time.monotonic() + timeout_s
        try:
            self._client.start(timeout=timeout_s)
            if self.security.auth == "sasl":
                # kazoo reports the session connected before its SASL exchange ends, and
                # holds requests until it has: one request's outcome is the verdict.
                self._client.exists_async("/").get(timeout=max(0.0, deadline - time.monotonic()))
        except AuthFailedError as exc:
            self.stop()
            raise ZkAuthFailedError(
                f"ZooKeeper at {self.hosts} refused the credentials ({self.security.describe()})"
            ) from exc
        except KazooTimeoutError as exc:
            self.stop()
            how = f" ({self.security.describe()})" if self.security.secured else ""
            raise ZkUnavailableError(
                f"could not connect to ZooKeeper at {self.hosts}{how} within {timeout_s:g} s"
            ) from exc
        except KazooException:
            self.stop()
            with translated():  # the chroot check's NoAuth, a lost connection...
                raise

    def stop(self) -> None:
        """End the session (its ephemerals go at once) and release the client."""
        self._client.stop()
        self._client.close()

    def identities(self) -> frozenset[AclIdentity]:
        """Who this session is, as ACL entries name it (``turnout.zk.acl.grants``)."""
        found = {ANYONE}
        own = self.security.acl_identity()
        if own is not None:
            found.add(own)
        for scheme, credential in self._auth:
            if scheme == "digest":
                user, _, password = credential.partition(":")
                found.add(digest_identity(user, password))
        return frozenset(found)

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    @property
    def session_id(self) -> int:
        """The server's id of this session; 0 before the first connect."""
        client_id = self._client.client_id
        return int(client_id[0]) if client_id else 0

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        """(session id, password) of the current session, or None before the first."""
        raw = self._client.client_id
        return (int(raw[0]), bytes(raw[1])) if raw else None

    @property
    def negotiated_session_timeout_s(self) -> float:
        return float(self._client._session_timeout) / 1000.0  # kazoo keeps it private

    def add_state_listener(self, listener: Callable[[ConnectionState], None]) -> None:
        def relay(state: str) -> None:
            listener(ConnectionState(str(state)))

        self._client.add_listener(relay)

    # ---- reads --------------------------------------------------------------------------

    def exists(self, path: str, *, watch: WatchCallback | None = None) -> NodeStat | None:
        """The node's stat or None. ``watch`` fires once on its creation, change or
        deletion (kazoo re-sends watches after a reconnect within the same session; after
        a new session they are gone, so callers re-read everything on reconnect)."""
        raw = self._wait(self._client.exists_async(path, watch=self._relay(watch)))
        return node_stat(raw) if raw is not None else None

    def get(self, path: str, *, watch: WatchCallback | None = None) -> tuple[bytes, NodeStat]:
        """Data and stat; ``watch`` fires once on the next change or deletion."""
        data, raw = self._wait(self._client.get_async(path, watch=self._relay(watch)))
        return bytes(data or b""), node_stat(raw)

    def get_many(self, paths: Sequence[str]) -> dict[str, tuple[bytes, NodeStat] | None]:
        """Read several nodes in one round trip (requests pipelined); None for a node
        that does not exist."""
        pending = [(path, self._client.get_async(path)) for path in paths]
        found: dict[str, tuple[bytes, NodeStat] | None] = {}
        for path, result in pending:
            try:
                data, raw = self._wait(result)
            except ZkNoNodeError:
                found[path] = None
                continue
            found[path] = (bytes(data or b""), node_stat(raw))
        return found

    def exists_many(
        self, paths: Sequence[str], *, watch: WatchCallback | None = None
    ) -> dict[str, NodeStat | None]:
        """``exists`` of several nodes in one round trip (requests pipelined); ``watch``
        is set on each."""
        relay = self._relay(watch)
        pending = [(path, self._client.exists_async(path, watch=relay)) for path in paths]
        found: dict[str, NodeStat | None] = {}
        for path, result in pending:
            raw = self._wait(result)
            found[path] = node_stat(raw) if raw is not None else None
        return found

    def children(self, path: str, *, watch: WatchCallback | None = None) -> list[str]:
        """Sorted child names; ``watch`` fires once on the next child change or deletion."""
        names: list[str] = self._wait(
            self._client.get_children_async(path, watch=self._relay(watch))
        )
        return sorted(names)

    def children_with_stat(
        self, path: str, *, watch: WatchCallback | None = None
    ) -> tuple[list[str], NodeStat]:
        """Sorted child names and the parent's stat, read atomically (``children_version``
        orders two such reads)."""
        names, raw = self._wait(
            self._client.get_children_async(path, watch=self._relay(watch), include_data=True)
        )
        return sorted(names), node_stat(raw)

    def get_and_children(
        self, node: str, parent: str, *, watch: WatchCallback | None = None
    ) -> tuple[tuple[bytes, NodeStat] | None, tuple[list[str], NodeStat] | None]:
        """``get(node)`` and ``children_with_stat(parent)`` in one round trip (requests
        pipelined), ``watch`` set on both; None for a node that does not exist (then no
        watch is left on it: use ``exists`` to wait for its creation)."""
        relay = self._relay(watch)
        got = self._client.get_async(node, watch=relay)
        listed = self._client.get_children_async(parent, watch=relay, include_data=True)
        data: tuple[bytes, NodeStat] | None
        children: tuple[list[str], NodeStat] | None
        try:
            raw_data, raw_stat = self._wait(got)
            data = (bytes(raw_data or b""), node_stat(raw_stat))
        except ZkNoNodeError:
            data = None
        try:
            names, raw = self._wait(listed)
            children = (sorted(names), node_stat(raw))
        except ZkNoNodeError:
            children = None
        return data, children

    def get_acls(self, path: str) -> list[Any]:
        """The node's ACL entries (``turnout.zk.acl`` builds them)."""
        acls, _ = self._wait(self._client.get_acls_async(path))
        return list(acls)

    def inherit_acl(self, path: str) -> None:
        """Create every node from now on with the ACL of ``path`` (nothing changes if it
        does not exist): an agent's nodes take the ACL the control plane gave the
        deployment directory they live in, so its peers and the control plane keep the
        rights on them that they have on the directory."""
        try:
            acls = self.get_acls(path)
        except ZkNoNodeError:
            return
        self._client.default_acl = acls

    def set_acls(self, path: str, acls: Sequence[Any], *, version: int = -1) -> None:
        """Replace the node's ACL (needs the ADMIN permission on it)."""
        self._check_session()
        self._wait(self._client.set_acls_async(path, list(acls), version=version))

    def sync(self, path: str) -> None:
        """Make the next read of ``path`` at least as new as the leader's state."""
        self._wait(self._client.sync_async(path))

    # ---- writes -------------------------------------------------------------------------

    def ensure_path(self, path: str) -> None:
        self._check_session()
        self._wait(self._client.ensure_path_async(path))

    def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
    ) -> str:
        self._check_session()
        created: str = self._wait(
            self._client.create_async(
                path, data, ephemeral=ephemeral, sequence=sequence, makepath=makepath
            )
        )
        return created

    def create_many(
        self, nodes: Sequence[tuple[str, bytes]], *, ephemeral: bool = False, makepath: bool = False
    ) -> dict[str, ZkError | None]:
        """Create several nodes in one round trip (requests pipelined); per path None if
        it was created, else what the create raised (ZkNodeExistsError, ...;
        ZkUnavailableError: outcome unknown). Every request is waited for: none is left
        in flight."""
        try:
            self._check_session()
        except ZkUnavailableError as exc:
            return {path: exc for path, _ in nodes}
        pending = [
            (
                path,
                self._client.create_async(path, data, ephemeral=ephemeral, makepath=makepath),
            )
            for path, data in nodes
        ]
        return self._outcomes(pending)

    def delete_many(self, nodes: Sequence[tuple[str, int]]) -> dict[str, ZkError | None]:
        """Delete several nodes, each at its version (-1: any), in one round trip
        (requests pipelined; each delete stands alone, unlike ``transaction``). Per path
        None if it was deleted, else what the delete raised (ZkNoNodeError,
        ZkBadVersionError, ...; ZkUnavailableError: outcome unknown). Every request is
        waited for: none is left in flight."""
        try:
            self._check_session()
        except ZkUnavailableError as exc:
            return {path: exc for path, _ in nodes}
        pending = [
            (path, self._client.delete_async(path, version=version)) for path, version in nodes
        ]
        return self._outcomes(pending)

    def _outcomes(self, pending: Sequence[tuple[str, Any]]) -> dict[str, ZkError | None]:
        answers = self._answers([result for _, result in pending])
        return {
            path: answer if isinstance(answer, ZkError) else None
            for (path, _), answer in zip(pending, answers, strict=True)
        }

    def _answers(self, pending: Sequence[Any]) -> list[Any]:
        """Each pipelined request's answer, or the ZkError it raised, in order. One
        deadline for the batch: the requests were sent together, so a hung server costs
        one request timeout, not one per request."""
        deadline = time.monotonic() + self.request_timeout_s
        answers: list[Any] = []
        for result in pending:
            try:
                with translated():
                    answers.append(result.get(timeout=max(0.0, deadline - time.monotonic())))
            except ZkError as exc:
                answers.append(exc)
        return answers

    def set(self, path: str, data: bytes, *, version: int = -1) -> NodeStat:
        """Write ``data``; with ``version`` >= 0 this is a compare-and-set."""
        self._check_session()
        raw = self._wait(self._client.set_async(path, data, version=version))
        return node_stat(raw)

    def set_nowait(self, path: str, data: bytes, on_done: Callable[[ZkError | None], None]) -> None:
        """Send a write of ``data`` and return at once, without waiting for its answer.

        ``on_done`` gets None (written) or the translated error, on kazoo's completion
        thread, so it must not block; it may never be called while the connection is
        down (kazoo keeps the request queued until it reconnects or the session ends):
        a caller bounds its own wait. ZooKeeper applies one session's requests in the
        order they were sent, so a later write of the same node lands after this one.
        A write on another session than the bound one raises ``ZkUnavailableError``
        here."""
        self._check_session()

        def done(result: Any) -> None:
            try:
                with translated():
                    result.get(timeout=0)
            except ZkError as exc:
                on_done(exc)
            else:
                on_done(None)

        with translated():
            self._client.set_async(path, data).rawlink(done)

    def delete(self, path: str, *, version: int = -1, recursive: bool = False) -> None:
        self._check_session()
        if recursive:
            # kazoo's recursive delete is a client-side walk with no async form.
            with translated():
                self._client.delete(path, version=version, recursive=True)
            return
        self._wait(self._client.delete_async(path, version=version))

    def set_many(self, nodes: Sequence[tuple[str, bytes, int]]) -> dict[str, NodeStat | ZkError]:
        """Write several nodes (path, data, version; -1: any) in one round trip (requests
        pipelined; each write stands alone). Per path the new stat, or what the write
        raised (ZkBadVersionError, ZkNoNodeError, ...; ZkUnavailableError: outcome
        unknown). Every request is waited for: none is left in flight."""
        try:
            self._check_session()
        except ZkUnavailableError as exc:
            return {path: exc for path, _, _ in nodes}
        answers = self._answers(
            [self._client.set_async(path, data, version=version) for path, data, version in nodes]
        )
        return {
            path: answer if isinstance(answer, ZkError) else node_stat(answer)
            for (path, _, _), answer in zip(nodes, answers, strict=True)
        }

    def transaction(self, ops: Sequence[TxnOp]) -> None:
        """Apply ``ops`` atomically (ZooKeeper multi): all or none.

        Raises ZkTransactionError naming the failed step, or ZkUnavailableError when the
        outcome is unknown.
        """
        self._check_session()
        self._transaction_outcome(self._wait(self._send_transaction(ops).commit_async()))

    def transaction_many(self, batches: Sequence[Sequence[TxnOp]]) -> list[ZkError | None]:
        """Several independent transactions in one round trip (pipelined; ZooKeeper applies
        one session's requests in order, each multi all or none). Per batch, in order:
        None if applied, ZkTransactionError naming its failed step, or ZkUnavailableError
        (outcome unknown). Every request is waited for: none is left in flight."""
        try:
            self._check_session()
        except ZkUnavailableError as exc:
            return [exc for _ in batches]
        answers = self._answers([self._send_transaction(ops).commit_async() for ops in batches])
        outcomes: list[ZkError | None] = []
        for answer in answers:
            if isinstance(answer, ZkError):
                outcomes.append(answer)
                continue
            try:
                self._transaction_outcome(answer)
            except ZkTransactionError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def transactions_together(self, batches: Sequence[Sequence[TxnOp]]) -> list[ZkError | None]:
        """Apply each batch atomically; per batch, in order, None or what refused it (as
        ``transaction_many``). All in one multi first: one request and one log entry,
        which is what a handover waits for; if that is refused (one batch no longer
        applies: the rare case), each on its own, pipelined, so that the others still
        apply and the caller learns which did not. A lost reply: every outcome unknown."""
        if len(batches) > 1:
            try:
                self.transaction([op for ops in batches for op in ops])
            except ZkTransactionError:
                pass
            except ZkUnavailableError as exc:
                return [exc for _ in batches]
            else:
                return [None for _ in batches]
        return self.transaction_many(batches)

    def _send_transaction(self, ops: Sequence[TxnOp]) -> Any:
        txn = self._client.transaction()
        for op in ops:
            if isinstance(op, CheckOp):
                txn.check(op.path, op.version)
            elif isinstance(op, CreateOp):
                txn.create(op.path, op.data, ephemeral=op.ephemeral)
            elif isinstance(op, SetOp):
                txn.set_data(op.path, op.data, version=op.version)
            else:
                txn.delete(op.path, version=op.version)
        return txn

    @staticmethod
    def _transaction_outcome(results: Sequence[object]) -> None:
        """Raise ZkTransactionError naming the failed step of a multi's ``results``."""
        for index, result in enumerate(results):
            if not isinstance(result, BaseException) or isinstance(
                result, RolledBackError | RuntimeInconsistency
            ):
                continue
            for kazoo_error, ours in TRANSACTION_ERRORS:
                if isinstance(result, kazoo_error):
                    raise ZkTransactionError(index, ours(str(result) or ours.__name__))
            raise ZkTransactionError(index, ZkError(f"{type(result).__name__}: {result}"))


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
    "ZkError",
    "ZkGateway",
    "ZkTransactionError",
]
