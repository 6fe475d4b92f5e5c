"""Even connection counts across workers, on top of ``SO_REUSEPORT``.

The kernel picks a worker for each new TCP connection by a hash of its addresses. With
many short connections that spreads well; with a few long-lived ones (relays, a benchmark's
8 senders) it often does not: 8 connections over 2 workers split 4/4 only about a quarter
of the time, and 6/2 or worse about a third (binomial). One worker then does most of the
work while the other idles.

So each worker, when the kernel hands it a plain TCP or Unix connection that would take
it above its fair share (``ceil(total / workers)``), passes the socket, before reading a
byte from it, to the worker with the fewest connections: the file descriptor travels over
that worker's Unix datagram socket (``SCM_RIGHTS``, in Linux's abstract namespace, named
after the supervisor's pid) and the receiver serves it as if it had accepted it. Counts
live in a shared array updated under its lock. TLS connections are not moved: the
handshake has already read from them when the server sees them.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger(__name__)

#: Descriptors per message: the receiver reads one connection per datagram.
_FDS_PER_MESSAGE: Final = 1


def channel_name(supervisor_pid: int, worker: int) -> bytes:
    """The abstract Unix socket address of a worker's hand-off channel."""
    return b"\0turnout-syslog-%d-%d" % (supervisor_pid, worker)


class Balancer:
    """One worker's side: counts its connections, gives surplus ones away, takes others'."""

    def __init__(self, counts: Any, supervisor_pid: int, worker: int) -> None:
        #: ``multiprocessing.Array('i', workers)`` shared by every worker.
        self._counts = counts
        self._supervisor_pid = supervisor_pid
        self._worker = worker
        self._inbox: socket.socket | None = None
        self.handed_off = 0

    @property
    def workers(self) -> int:
        return len(self._counts)

    def start(self, serve_socket: Callable[[socket.socket, str], None]) -> None:
        """Listen for connections other workers hand over; ``serve_socket(sock, listener)``."""
        inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        inbox.bind(channel_name(self._supervisor_pid, self._worker))
        inbox.setblocking(False)
        self._inbox = inbox

        def readable() -> None:
            while True:
                try:
                    data, fds, _, _ = socket.recv_fds(inbox, 64, _FDS_PER_MESSAGE)
                except (BlockingIOError, InterruptedError):
                    return
                for fd in fds:
                    serve_socket(socket.socket(fileno=fd), data.decode() or "tcp")

        asyncio.get_running_loop().add_reader(inbox.fileno(), readable)

    def admit(self, sock: Any, listener: str) -> bool:
        """Count a connection the kernel gave this worker; False if it was handed to a
        less busy worker instead (the caller then closes its own descriptor)."""
        with self._counts.get_lock():
            counts = self._counts
            counts[self._worker] += 1
            total = sum(counts)
            target = min(range(len(counts)), key=lambda index: counts[index])
            if counts[self._worker] <= math.ceil(total / len(counts)) or target == self._worker:
                return True
            counts[self._worker] -= 1
            counts[target] += 1
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
                # sendmsg, not socket.send_fds: that one ignores its address argument.
                out.sendmsg(
                    [listener.encode()],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))],
                    0,
                    channel_name(self._supervisor_pid, target),
                )
        except OSError as exc:
            log.warning("could not hand a connection over; serving it here",
                        extra={"event": "handoff-failed", "error": str(exc)})  # fmt: skip
            with self._counts.get_lock():
                self._counts[target] -= 1
                self._counts[self._worker] += 1
            return True
        self.handed_off += 1
        return False

    def released(self) -> None:
        with self._counts.get_lock():
            self._counts[self._worker] = max(0, self._counts[self._worker] - 1)

    def stop(self) -> None:
        if self._inbox is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._inbox.fileno())
            self._inbox.close()
            self._inbox = None
