"""The agent's lease on its ZooKeeper session: the local fence timer.

ZooKeeper expires a session when the server has heard nothing from the client for the
session timeout S. A client cannot learn of the expiry until it reconnects (kazoo says
LOST only then), so the agent keeps its own clock: a request that succeeded proves the
session was alive when it was *sent*, hence the server will not expire it before
``sent + S``. The lease is valid until ``sent + (S - margin)`` of the newest such proof,
and the agent processes and commits nothing without a valid lease. A heartbeat thread
renews it every :data:`HEARTBEAT_INTERVAL_S`.

This covers every way of going silent the same way: a dropped connection (SUSPENDED),
a network partition without any error, and a process frozen by SIGSTOP or a GC pause —
on waking, the monotonic clock has moved past the deadline, so the first check fences
before anything runs, and only a fresh round trip on the *same* session lifts it.

States (``LeaseState``)::

    NONE ──session──▶ VALID ──deadline passed──▶ FENCED ──renewed, same session──▶ VALID
                        │                          │
                        └──────── revoke() ────────┴──▶ REVOKED (LOST: a new session is
                                                        needed; ownership is gone)
    REVOKED ──new session──▶ VALID

All methods are thread-safe and never block: the dispatcher's workers call ``valid()``
before every record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

#: Ceiling on the interval between lease renewals. A renewal every quarter of the fence
#: window tolerates three lost round trips before fencing a healthy agent.
HEARTBEAT_INTERVAL_S = 0.5


class LeaseState(StrEnum):
    NONE = "none"
    VALID = "valid"
    FENCED = "fenced"
    REVOKED = "revoked"


def heartbeat_interval(fence_after_s: float) -> float:
    return min(HEARTBEAT_INTERVAL_S, fence_after_s / 4)


class Lease:
    def __init__(self, fence_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._fence_after_s = fence_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._session_id = 0
        self._proven_at: float | None = None
        self._revoked = False

    @property
    def session_id(self) -> int:
        """The session every ownership of this lease belongs to (0: none yet)."""
        return self._session_id

    def start(self, session_id: int, sent_at: float) -> None:
        """A (new) session was established by a request sent at ``sent_at``."""
        with self._lock:
            self._session_id = session_id
            self._proven_at = sent_at
            self._revoked = False

    def renew(self, session_id: int, sent_at: float) -> bool:
        """A request sent at ``sent_at`` succeeded on ``session_id``. Renews only the
        lease's own session: success on a new session proves nothing about the old one."""
        with self._lock:
            if self._revoked or session_id != self._session_id or session_id == 0:
                return False
            if self._proven_at is None or sent_at > self._proven_at:
                self._proven_at = sent_at
            return True

    def revoke(self) -> None:
        """The session is lost: nothing is valid until ``start`` with a new session."""
        with self._lock:
            self._revoked = True

    def state(self) -> LeaseState:
        with self._lock:
            if self._revoked:
                return LeaseState.REVOKED
            if self._proven_at is None:
                return LeaseState.NONE
            if self._clock() < self._proven_at + self._fence_after_s:
                return LeaseState.VALID
            return LeaseState.FENCED

    def valid(self) -> bool:
        return self.state() is LeaseState.VALID

    def remaining_s(self) -> float:
        with self._lock:
            if self._revoked or self._proven_at is None:
                return 0.0
            return max(0.0, self._proven_at + self._fence_after_s - self._clock())
