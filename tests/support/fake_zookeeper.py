"""An in-memory ZooKeeper for unit tests of logic over ZooKeeper (the agent's model-based
test T13, the offset and directive stores): one ``FakeZooKeeper`` server, one
``FakeGateway`` per client standing in for ``turnout.zk.ZkGateway``.

What it keeps of ZooKeeper (what the agent relies on):
- nodes with data, a data version, a children version and zxids; ephemeral nodes belong
  to a session and go when it ends;
- versioned set/delete (compare-and-set), atomic multi-op transactions; a version says
  nothing about who created the node (a node deleted and created again starts at 0);
- one-shot watches: data (get; exists of a present node), creation (exists of a missing
  node), children. A watch fires once per client, path and kind;
- sessions: a client is connected or not; requests of a disconnected client fail at
  once with ``ZkUnavailableError`` (the real gateway fails after its request timeout);
  the server expires a session only after it has not heard from it for the session
  timeout (``expirable``), and then drops its ephemerals and its watches. Closing a
  session needs the connection: a client stopped while disconnected leaves its session
  (and its ephemerals) to expire;
- the pipelined batch calls (``create_many``, ``delete_many``) report a connection loss
  per path, as the real gateway does, instead of raising;
- a gateway bound to a session (``ZkGateway.bind_session``) refuses writes on any other.

Notifications: a watch that fires while its client is connected reaches the client's
queue (``pending``), which the test runs when it says so (``deliver``): the test decides
when kazoo's event thread runs, so a notification may be late by any number of steps,
and one already queued may still run after the session was lost (a stale callback). A
watch that fires while its client is disconnected is held by the server and sent when
the client reconnects on the same session (kazoo re-sends its watches and the server
fires what changed meanwhile); if the session expired instead, it is never sent, and the
client gets ``LOST``, then ``CONNECTED`` on a new session with no watches.

Faults inside a request: ``interrupt(n, action)`` runs ``action`` just before the n-th
request from now (a connection drop, a process freeze during which others act, ...),
and ``lose_reply`` makes the current request's reply go missing: it was applied, then
the connection dropped, and the caller sees ``ZkUnavailableError``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from turnout.zk import (
    ConnectionState,
    CreateOp,
    DeleteOp,
    NodeStat,
    SetOp,
    TxnOp,
    WatchCallback,
    WatchEvent,
    WatchKind,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkTransactionError,
    ZkUnavailableError,
)

FIRST_SESSION_ID = 0x1000


@dataclass
class _Node:
    data: bytes
    ephemeral_owner: int
    created_ms: int
    czxid: int
    modified_ms: int
    mzxid: int
    version: int = 0
    children_version: int = 0
    children_zxid: int = 0
    children: set[str] = field(default_factory=set)


def _parent(path: str) -> str:
    head, _, _ = path.rpartition("/")
    return head or "/"


def _name(path: str) -> str:
    return path.rpartition("/")[2]


@dataclass
class _Session:
    id: int
    alive: bool = True


Notification = tuple[WatchCallback, WatchEvent]
#: (the client writing, or None for the server itself; path; old data; new data).
SetCheck = Callable[["FakeGateway | None", str, bytes, bytes], None]


class FakeZooKeeper:
    """The server: the tree, the sessions and the watches of every client."""

    def __init__(self, clock: Callable[[], float], session_timeout_s: float) -> None:
        self._clock = clock
        self.session_timeout_s = session_timeout_s
        self._zxid = 0
        self.nodes: dict[str, _Node] = {"/": self._new_node(b"", 0)}
        self._next_session = FIRST_SESSION_ID
        self.clients: list[FakeGateway] = []
        #: (path, kind) -> clients -> callbacks; kind "data", "exists" or "child".
        self._watches: dict[tuple[str, str], dict[FakeGateway, set[WatchCallback]]] = {}
        #: Called with (writer, path, old data, new data) before a node's data is replaced.
        self.on_set: SetCheck = lambda writer, path, old, new: None

    def _new_node(self, data: bytes, owner: int) -> _Node:
        self._zxid += 1
        now = int(self._clock() * 1000)
        return _Node(data, owner, now, self._zxid, now, self._zxid)

    def now(self) -> float:
        return self._clock()

    def client(self) -> FakeGateway:
        gateway = FakeGateway(self)
        self.clients.append(gateway)
        return gateway

    def new_session(self) -> _Session:
        self._next_session += 1
        return _Session(self._next_session)

    # ---- watches ------------------------------------------------------------------------

    def watch(self, client: FakeGateway, path: str, kind: str, callback: WatchCallback) -> None:
        self._watches.setdefault((path, kind), {}).setdefault(client, set()).add(callback)

    def _fire(self, path: str, kinds: Sequence[str], event: WatchKind) -> None:
        for kind in kinds:
            for client, callbacks in self._watches.pop((path, kind), {}).items():
                for callback in callbacks:
                    client.notify(callback, WatchEvent(event, path))

    def forget_watches(self, client: FakeGateway) -> None:
        for watchers in self._watches.values():
            watchers.pop(client, None)

    # ---- the tree -----------------------------------------------------------------------

    def stat(self, path: str) -> NodeStat:
        node = self.nodes[path]
        return NodeStat(
            version=node.version,
            ephemeral_owner=node.ephemeral_owner,
            created_ms=node.created_ms,
            modified_ms=node.modified_ms,
            num_children=len(node.children),
            mzxid=node.mzxid,
            children_version=node.children_version,
            children_zxid=node.children_zxid,
        )

    def check_create(self, path: str, makepath: bool) -> None:
        if path in self.nodes:
            raise ZkNodeExistsError(path)
        parent = _parent(path)
        if parent not in self.nodes and not makepath:
            raise ZkNoNodeError(parent)
        if parent in self.nodes and self.nodes[parent].ephemeral_owner:
            raise ZkError(f"NoChildrenForEphemeralsError: {parent}")

    def create(self, path: str, data: bytes, owner: int, makepath: bool) -> None:
        self.check_create(path, makepath)
        parent = _parent(path)
        if parent not in self.nodes:
            self.create(parent, b"", 0, makepath=True)
        self.nodes[path] = self._new_node(data, owner)
        above = self.nodes[parent]
        above.children.add(_name(path))
        above.children_version += 1
        above.children_zxid = self._zxid
        self._fire(path, ("exists",), WatchKind.CREATED)
        self._fire(parent, ("child",), WatchKind.CHILD)

    def check_version(self, path: str, version: int) -> _Node:
        node = self.nodes.get(path)
        if node is None:
            raise ZkNoNodeError(path)
        if version != -1 and node.version != version:
            raise ZkBadVersionError(f"{path}: version {node.version}, not {version}")
        return node

    def set(
        self, path: str, data: bytes, version: int, writer: FakeGateway | None = None
    ) -> NodeStat:
        node = self.check_version(path, version)
        self.on_set(writer, path, node.data, data)
        self._zxid += 1
        node.data = data
        node.version += 1
        node.mzxid = self._zxid
        node.modified_ms = int(self._clock() * 1000)
        self._fire(path, ("data",), WatchKind.CHANGED)
        return self.stat(path)

    def check_delete(self, path: str, version: int) -> None:
        node = self.check_version(path, version)
        if node.children:
            raise ZkNotEmptyError(path)

    def delete(self, path: str, version: int) -> None:
        self.check_delete(path, version)
        del self.nodes[path]
        self._zxid += 1
        above = self.nodes[_parent(path)]
        above.children.discard(_name(path))
        above.children_version += 1
        above.children_zxid = self._zxid
        self._fire(path, ("data", "child"), WatchKind.DELETED)
        self._fire(_parent(path), ("child",), WatchKind.CHILD)

    def end_session(self, session: _Session) -> None:
        """The session is over (expired or closed): its watches go, then its ephemerals
        (whose deletion notifies the other sessions' watches, not its own)."""
        session.alive = False
        for client in self.clients:
            if client.session is session:
                self.forget_watches(client)
                client.undelivered.clear()
        owned = [p for p, n in self.nodes.items() if n.ephemeral_owner == session.id]
        for path in sorted(owned, reverse=True):
            self.delete(path, -1)

    def owner_of(self, path: str) -> int:
        """The session owning the ephemeral ``path``; 0 if it is missing or persistent."""
        node = self.nodes.get(path)
        return node.ephemeral_owner if node is not None else 0

    def session_alive(self, session_id: int) -> bool:
        return any(
            c.session is not None and c.session.id == session_id and c.session.alive
            for c in self.clients
        )


class FakeGateway(ZkGateway):
    """One client of ``FakeZooKeeper``, with ``ZkGateway``'s interface and semantics."""

    def __init__(self, server: FakeZooKeeper) -> None:  # no kazoo client: no super()
        self._server = server
        self.hosts = "fake"
        self.request_timeout_s = server.session_timeout_s
        self.session: _Session | None = None
        self._connected = False
        self._stopped = False
        #: Since when the server has not heard from this client (None: it hears it now).
        self.silent_since: float | None = None
        self._listeners: list[Callable[[ConnectionState], None]] = []
        #: Notifications that reached the client, waiting for kazoo's event thread.
        self.pending: list[Notification] = []
        #: Notifications the server holds for this session while the client is away.
        self.undelivered: list[Notification] = []
        #: ``ZkGateway.bind_session``'s: the only session writes may go out on.
        self._bound_session: int | None = None
        #: (requests to go, action): the fault ``interrupt`` scheduled.
        self._interruption: tuple[int, Callable[[], None]] | None = None
        self._reply_lost = False

    # ---- what the test does to the connection -------------------------------------------

    def disconnect(self, now: float) -> None:
        if self._connected:
            self._connected = False
            self.silent_since = now
            self._emit(ConnectionState.SUSPENDED)

    def reconnect(self) -> None:
        """Back on the live session, or LOST and a new session if it expired meanwhile."""
        if self._connected or self.session is None or self._stopped:
            return
        if self.session.alive:
            self.pending.extend(self.undelivered)
            self.undelivered.clear()
        else:
            self._emit(ConnectionState.LOST)
            self.session = self._server.new_session()
        self._connected = True
        self.silent_since = None
        self._emit(ConnectionState.CONNECTED)

    def expirable(self, now: float) -> bool:
        """The server may expire the session: it has heard nothing for a session timeout."""
        return (
            self.session is not None
            and self.session.alive
            and self.silent_since is not None
            and now - self.silent_since >= self._server.session_timeout_s
        )

    def expire(self) -> None:
        assert self.session is not None
        self._server.end_session(self.session)

    def notify(self, callback: WatchCallback, event: WatchEvent) -> None:
        """A watch of this client fired on the server."""
        if self._stopped:
            return
        (self.pending if self._connected else self.undelivered).append((callback, event))

    def deliver(self, limit: int | None = None) -> int:
        """Run up to ``limit`` queued notifications in order (kazoo's event thread, which
        runs whether or not the connection is up); how many ran."""
        count = len(self.pending) if limit is None else min(limit, len(self.pending))
        ready, self.pending = self.pending[:count], self.pending[count:]
        for callback, event in ready:
            callback(event)
        return count

    def interrupt(self, requests: int, action: Callable[[], None]) -> None:
        """Run ``action`` just before the ``requests``-th request from now (1: the next)."""
        self._interruption = (requests, action)

    def disarm(self) -> None:
        """Forget a fault ``interrupt`` scheduled that has not struck yet."""
        self._interruption = None

    def lose_reply(self) -> None:
        """The request under way is applied, but its reply is lost with the connection."""
        self._reply_lost = True

    def _emit(self, state: ConnectionState) -> None:
        for listener in list(self._listeners):
            listener(state)

    def _up(self) -> _Session:
        if not self._connected or self.session is None or not self.session.alive:
            raise ZkUnavailableError("ZooKeeper unavailable: ConnectionLoss (fake)")
        return self.session

    @contextlib.contextmanager
    def _request(self, *, write: bool = False) -> Iterator[_Session]:
        """One request: a scheduled interruption first, then the server's answer (or a
        connection loss instead of it, if the reply is lost). A write is refused on
        another session than the bound one, as ``ZkGateway`` refuses it."""
        if self._interruption is not None:
            left, action = self._interruption
            if left <= 1:
                self._interruption = None
                action()
            else:
                self._interruption = (left - 1, action)
        try:
            bound = self._bound_session
            if write and bound is not None and self.session_id != bound:
                raise ZkUnavailableError(f"ZooKeeper session changed from 0x{bound:x} (fake)")
            session = self._up()
        except ZkUnavailableError:
            self._reply_lost = False  # it never reached the server: no reply to lose
            raise
        try:
            yield session
        finally:
            if self._reply_lost:
                self._reply_lost = False
                self.disconnect(self._server.now())
                raise ZkUnavailableError("ZooKeeper unavailable: reply lost (fake)")

    # ---- session ------------------------------------------------------------------------

    def start(self, timeout_s: float = 0.0) -> None:
        self.session = self._server.new_session()
        self._connected = True

    def stop(self) -> None:
        """Close the session if the connection is up; else it lingers until it expires."""
        if self.session is not None and self.session.alive and self._connected:
            self._server.end_session(self.session)
        self._connected = False
        self._stopped = True
        self._server.forget_watches(self)
        self.pending.clear()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def session_id(self) -> int:
        return self.session.id if self.session is not None else 0

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        return (self.session.id, b"fake") if self.session is not None else None

    @property
    def negotiated_session_timeout_s(self) -> float:
        return self._server.session_timeout_s

    def add_state_listener(self, listener: Callable[[ConnectionState], None]) -> None:
        self._listeners.append(listener)

    # ---- reads --------------------------------------------------------------------------

    def exists(self, path: str, *, watch: WatchCallback | None = None) -> NodeStat | None:
        with self._request():
            present = path in self._server.nodes
            if watch is not None:
                self._server.watch(self, path, "data" if present else "exists", watch)
            return self._server.stat(path) if present else None

    def get(self, path: str, *, watch: WatchCallback | None = None) -> tuple[bytes, NodeStat]:
        with self._request():
            node = self._server.nodes.get(path)
            if node is None:
                raise ZkNoNodeError(path)
            if watch is not None:
                self._server.watch(self, path, "data", watch)
            return node.data, self._server.stat(path)

    def get_many(self, paths: Sequence[str]) -> dict[str, tuple[bytes, NodeStat] | None]:
        with self._request():
            nodes = self._server.nodes
            return {p: (nodes[p].data, self._server.stat(p)) if p in nodes else None for p in paths}

    def exists_many(
        self, paths: Sequence[str], *, watch: WatchCallback | None = None
    ) -> dict[str, NodeStat | None]:
        return {path: self.exists(path, watch=watch) for path in paths}

    def children(self, path: str, *, watch: WatchCallback | None = None) -> list[str]:
        return self.children_with_stat(path, watch=watch)[0]

    def children_with_stat(
        self, path: str, *, watch: WatchCallback | None = None
    ) -> tuple[list[str], NodeStat]:
        with self._request():
            node = self._server.nodes.get(path)
            if node is None:
                raise ZkNoNodeError(path)
            if watch is not None:
                self._server.watch(self, path, "child", watch)
            return sorted(node.children), self._server.stat(path)

    def get_and_children(
        self, node: str, parent: str, *, watch: WatchCallback | None = None
    ) -> tuple[tuple[bytes, NodeStat] | None, tuple[list[str], NodeStat] | None]:
        try:
            data: tuple[bytes, NodeStat] | None = self.get(node, watch=watch)
        except ZkNoNodeError:
            data = None
        try:
            children: tuple[list[str], NodeStat] | None = self.children_with_stat(
                parent, watch=watch
            )
        except ZkNoNodeError:
            children = None
        return data, children

    def inherit_acl(self, path: str) -> None:
        """No ACLs here: every node is open, as with the real gateway's default."""
        del path

    def sync(self, path: str) -> None:
        with self._request():
            pass

    # ---- writes -------------------------------------------------------------------------

    def ensure_path(self, path: str) -> None:
        with self._request(write=True):
            if path not in self._server.nodes:
                self._server.create(path, b"", 0, makepath=True)

    def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
    ) -> str:
        with self._request(write=True) as session:
            if sequence:
                parent = self._server.nodes.get(_parent(path))
                path += f"{parent.children_version if parent else 0:010d}"
            self._server.create(path, data, session.id if ephemeral else 0, makepath)
            return path

    def create_many(
        self, nodes: Sequence[tuple[str, bytes]], *, ephemeral: bool = False, makepath: bool = False
    ) -> dict[str, ZkError | None]:
        create = functools.partial(self.create, ephemeral=ephemeral, makepath=makepath)
        return _per_path((path, functools.partial(create, path, data)) for path, data in nodes)

    def delete_many(self, nodes: Sequence[tuple[str, int]]) -> dict[str, ZkError | None]:
        return _per_path(
            (path, functools.partial(self.delete, path, version=version)) for path, version in nodes
        )

    def set_many(self, nodes: Sequence[tuple[str, bytes, int]]) -> dict[str, NodeStat | ZkError]:
        written: dict[str, NodeStat | ZkError] = {}
        for path, data, version in nodes:
            try:
                written[path] = self.set(path, data, version=version)
            except ZkError as exc:
                written[path] = exc
        return written

    def transaction_many(self, batches: Sequence[Sequence[TxnOp]]) -> list[ZkError | None]:
        outcomes: list[ZkError | None] = []
        for ops in batches:
            try:
                self.transaction(ops)
            except ZkError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def set(self, path: str, data: bytes, *, version: int = -1) -> NodeStat:
        with self._request(write=True):
            return self._server.set(path, data, version, writer=self)

    def set_nowait(self, path: str, data: bytes, on_done: Callable[[ZkError | None], None]) -> None:
        """The write at once (the fake answers every request in line); its outcome goes to
        ``on_done`` before this returns. The bound-session check raises, as the real one."""
        bound = self._bound_session
        if bound is not None and self.session_id != bound:
            raise ZkUnavailableError(f"ZooKeeper session changed from 0x{bound:x} (fake)")
        try:
            self.set(path, data)
        except ZkError as exc:
            on_done(exc)
        else:
            on_done(None)

    def delete(self, path: str, *, version: int = -1, recursive: bool = False) -> None:
        with self._request(write=True):
            if recursive:
                if path not in self._server.nodes:
                    raise ZkNoNodeError(path)
                below = [p for p in self._server.nodes if p == path or p.startswith(path + "/")]
                for each in sorted(below, key=len, reverse=True):
                    self._server.delete(each, -1)
                return
            self._server.delete(path, version)

    def transaction(self, ops: Sequence[TxnOp]) -> None:
        """All or none: every step is checked against the tree as the earlier steps
        would leave it, before any is applied."""
        with self._request(write=True) as session:
            server = self._server
            present = set(server.nodes)
            versions = {p: n.version for p, n in server.nodes.items()}
            children = {p: set(n.children) for p, n in server.nodes.items()}
            for index, op in enumerate(ops):
                try:
                    _check_step(op, present, versions, children)
                except ZkError as exc:
                    raise ZkTransactionError(index, exc) from exc
            for op in ops:
                if isinstance(op, CreateOp):
                    server.create(op.path, op.data, session.id if op.ephemeral else 0, False)
                elif isinstance(op, SetOp):
                    server.set(op.path, op.data, op.version, writer=self)
                elif isinstance(op, DeleteOp):
                    server.delete(op.path, op.version)


def _per_path(requests: Iterable[tuple[str, Callable[[], object]]]) -> dict[str, ZkError | None]:
    """Pipelined, as the real batch calls: each request stands alone, and what it raised
    (a connection loss included) is its path's outcome, not an exception."""
    outcomes: dict[str, ZkError | None] = {}
    for path, request in requests:
        try:
            request()
        except ZkError as exc:
            outcomes[path] = exc
        else:
            outcomes[path] = None
    return outcomes


def _check_step(
    op: TxnOp, present: set[str], versions: dict[str, int], children: dict[str, set[str]]
) -> None:
    """One step of a multi against the tree as the steps before it leave it (a check
    step, ``CheckOp``, only looks: present, at its version)."""
    if isinstance(op, CreateOp):
        if op.path in present:
            raise ZkNodeExistsError(op.path)
        if _parent(op.path) not in present:
            raise ZkNoNodeError(_parent(op.path))
        present.add(op.path)
        versions[op.path] = 0
        children[op.path] = set()
        children[_parent(op.path)].add(_name(op.path))
        return
    if op.path not in present:
        raise ZkNoNodeError(op.path)
    if op.version != -1 and versions[op.path] != op.version:
        raise ZkBadVersionError(op.path)
    if isinstance(op, SetOp):
        versions[op.path] += 1
    elif isinstance(op, DeleteOp):
        if children[op.path]:
            raise ZkNotEmptyError(op.path)
        present.discard(op.path)
        children[_parent(op.path)].discard(_name(op.path))
