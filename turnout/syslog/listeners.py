"""The sockets: TCP, TLS over TCP (RFC 5425), a Unix stream socket, and UDP (RFC 5426).

Stream listeners give each connection a ``Framer``; every read's messages go to the
pipeline at once. When the delivery says the spool is full, every stream connection
stops reading (``pause_reading``: the kernel's buffers fill and the senders' TCP windows
close) until it has room again. Workers bind the same TCP and UDP ports with
``SO_REUSEPORT`` and the kernel spreads connections and datagrams over them; plain TCP
and Unix connections are then evened out by ``balance.Balancer``. The Unix socket is
accepted by worker 0 alone (``SO_REUSEPORT`` does not apply to it).

UDP is best effort. Each datagram is one message (a trailing LF is dropped). Datagrams
the kernel dropped because the socket's buffer was full are counted from the socket's
own drop counter (``SO_MEMINFO``, read after every batch and every worker tick: the
per-datagram ``SO_RXQ_OVFL`` never reports drops after the last datagram queued), and
datagrams that arrive while the spool is full are dropped and counted, never silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any, Final

from turnout.syslog import metrics
from turnout.syslog.balance import Balancer
from turnout.syslog.framing import Framer
from turnout.syslog.pipeline import Pipeline
from turnout.syslog.settings import ClientAuth, SyslogSettings

log = logging.getLogger(__name__)

#: Linux's socket option (socket.h; Python's socket module does not name it): the
#: socket's memory figures, of which index ``_MEMINFO_DROPS`` counts dropped datagrams.
SO_MEMINFO: Final = getattr(socket, "SO_MEMINFO", 55)
_MEMINFO: Final = struct.Struct("=9I")
_MEMINFO_DROPS: Final = 8
#: Asked of the kernel for each UDP socket (it caps this at net.core.rmem_max): a burst
#: of datagrams waits here while the worker is busy with the previous batch.
UDP_RECEIVE_BUFFER: Final = 8 * 1024 * 1024
#: Datagrams read per wake-up before the loop serves other sockets.
_UDP_BATCH: Final = 512
_UDP_MAX_DATAGRAM: Final = 65_535


def _now_ms() -> int:
    return int(time.time() * 1000)


#: Listeners whose connections the balancer may move (a TLS handshake has already read).
_MOVABLE: Final = frozenset({"tcp", "unix"})


class StreamConnection(asyncio.Protocol):
    def __init__(self, listener: str, server: StreamListeners, adopted: bool = False) -> None:
        self.listener = listener
        self._server = server
        self._framer = Framer(server.settings.max_message)
        self._truncated = 0
        self._framing_errors = 0
        self.transport: asyncio.Transport | None = None
        #: Counted by the balancer (kernel-given and kept, or handed over by another).
        self.balanced = adopted
        self._moved = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        balancer = self._server.balancer
        if balancer is not None and not self.balanced and self.listener in _MOVABLE:
            transport.pause_reading()  # not a byte is read before the decision
            if not balancer.admit(transport.get_extra_info("socket"), self.listener):
                metrics.HANDED_OVER.labels(self.listener).inc()
                self._moved = True
                transport.abort()  # our descriptor only: the other worker has its own
                return
            self.balanced = True
            transport.resume_reading()
        self._server.connected(self)

    def data_received(self, data: bytes) -> None:
        self._deliver(self._framer.feed(data))

    def eof_received(self) -> bool | None:
        return None  # close our side too: syslog senders never wait for an answer

    def connection_lost(self, exc: Exception | None) -> None:
        if self._moved:
            return
        self._deliver(self._framer.close())
        self._server.disconnected(self)
        if self.balanced and self._server.balancer is not None:
            self._server.balancer.released()

    def flush(self) -> None:
        """At shutdown: what the framer holds becomes a last message, delivered."""
        self._deliver(self._framer.close())

    def _deliver(self, messages: list[bytes]) -> None:
        counters = self._framer.counters
        if counters.truncated != self._truncated:
            metrics.TRUNCATED.labels(self.listener).inc(counters.truncated - self._truncated)
            self._truncated = counters.truncated
        if counters.framing_errors != self._framing_errors:
            metrics.FRAMING_ERRORS.labels(self.listener).inc(
                counters.framing_errors - self._framing_errors
            )
            self._framing_errors = counters.framing_errors
        if messages:
            self._server.pipeline.handle(self.listener, messages, _now_ms())
            self._server.check_blocked()


class StreamListeners:
    """Every stream server of one worker, and back-pressure over their connections."""

    def __init__(
        self,
        settings: SyslogSettings,
        pipeline: Pipeline,
        worker: int,
        balancer: Balancer | None = None,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.balancer = balancer
        self._worker = worker
        self._servers: list[asyncio.Server] = []
        self._connections: set[StreamConnection] = set()
        self._handovers: set[asyncio.Task[Any]] = set()
        self.paused = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        if settings.tcp_port:
            self._servers.append(
                await loop.create_server(
                    self._factory("tcp"), settings.host, settings.tcp_port, reuse_port=True
                )
            )
        if settings.tls_port:
            self._servers.append(
                await loop.create_server(
                    self._factory("tls"),
                    settings.host,
                    settings.tls_port,
                    reuse_port=True,
                    ssl=tls_context(settings),
                )
            )
        if settings.unix_socket is not None and self._worker == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(settings.unix_socket)
            self._servers.append(
                await loop.create_unix_server(self._factory("unix"), str(settings.unix_socket))
            )
        if self.balancer is not None:
            self.balancer.start(self._serve_handed_over)

    def _factory(self, listener: str) -> Callable[[], StreamConnection]:
        return lambda: StreamConnection(listener, self)

    def _serve_handed_over(self, sock: socket.socket, listener: str) -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(
            loop.connect_accepted_socket(
                lambda: StreamConnection(listener, self, adopted=True), sock
            )
        )
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    def connected(self, connection: StreamConnection) -> None:
        self._connections.add(connection)
        metrics.CONNECTIONS.labels(connection.listener).inc()
        if self.paused and connection.transport is not None:
            connection.transport.pause_reading()

    def disconnected(self, connection: StreamConnection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            metrics.CONNECTIONS.labels(connection.listener).dec()

    def check_blocked(self) -> None:
        """Pause every connection while the spool is full; resume once it has room."""
        blocked = self.pipeline.delivery.blocked
        if blocked == self.paused:
            return
        self.paused = blocked
        metrics.BLOCKED.set(1 if blocked else 0)
        log.warning(
            "spool full: stopped reading" if blocked else "spool has room: reading again",
            extra={"event": "blocked" if blocked else "unblocked"},
        )
        for connection in self._connections:
            if connection.transport is None or connection.transport.is_closing():
                continue
            if blocked:
                connection.transport.pause_reading()
            else:
                connection.transport.resume_reading()

    async def stop(self) -> None:
        """Stop accepting, deliver what every connection's framer holds, close them."""
        if self.balancer is not None:
            self.balancer.stop()
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            connection.flush()
            if connection.transport is not None:
                connection.transport.abort()
        self._connections.clear()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)
        if self.settings.unix_socket is not None and self._worker == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.settings.unix_socket)


def tls_context(settings: SyslogSettings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    assert settings.tls_cert is not None and settings.tls_key is not None
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    if settings.tls_client_auth is not ClientAuth.NONE:
        assert settings.tls_client_ca is not None
        context.load_verify_locations(settings.tls_client_ca)
        context.verify_mode = (
            ssl.CERT_REQUIRED
            if settings.tls_client_auth is ClientAuth.REQUIRED
            else ssl.CERT_OPTIONAL
        )
    return context


class UdpListener:
    """Reads datagrams in batches with ``recvmsg``, counting the kernel's drops."""

    def __init__(self, settings: SyslogSettings, pipeline: Pipeline) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._sock: socket.socket | None = None
        self._kernel_drops = 0
        self._max = settings.max_message

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        sock.bind((self._settings.host, self._settings.udp_port))
        sock.setblocking(False)
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def count_kernel_drops(self) -> None:
        """Add the datagrams the kernel dropped since the last look to the metric."""
        if self._sock is None:
            return
        raw = self._sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO.size)
        drops = _MEMINFO.unpack(raw)[_MEMINFO_DROPS]
        if drops != self._kernel_drops:
            metrics.DROPPED.labels("udp", "udp_overflow").inc(
                (drops - self._kernel_drops) & 0xFFFFFFFF
            )
            self._kernel_drops = drops

    def _readable(self) -> None:
        assert self._sock is not None
        messages: list[bytes] = []
        truncated = 0
        receive = self._sock.recv
        for _ in range(_UDP_BATCH):
            try:
                data = receive(_UDP_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            if data.endswith(b"\n"):
                data = data[:-1]
            if len(data) > self._max:
                data = data[: self._max]
                truncated += 1
            if data:
                messages.append(data)
        self.count_kernel_drops()
        if truncated:
            metrics.TRUNCATED.labels("udp").inc(truncated)
        if not messages:
            return
        if self._pipeline.delivery.blocked:
            metrics.RECEIVED.labels("udp").inc(len(messages))
            metrics.DROPPED.labels("udp", "blocked").inc(len(messages))
            return
        self._pipeline.handle("udp", messages, _now_ms())

    def stop(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
