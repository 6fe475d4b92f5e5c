"""The work manager's own state, which every piece of it reads.

    RUNNING --halt(reason)--> HALTED --close()--> CLOSED
    RUNNING --close()--> CLOSED

RUNNING: records start as workers take them.

HALTED (a *_AND_STOP failure decision, the dead-letter rate guard, a failed dead letter,
an escalation that chose STOP): ``stop_reason`` is set (the first reason is kept),
``wants_more`` is False, no new record starts, and running workers are interrupted before
their next record; running records finish and are accounted. The agent sees
``stop_reason()``, drains with ``close_partition`` and stops. A halt is final.

CLOSED (``close``): the worker threads, the event loop and the supervisor end; a thread
stuck in a handler is a daemon and is left behind.

The circuit breaker (escalation PAUSE) is not a state here: it only makes ``wants_more``
False until it closes (``flow.py``).

The flags are plain attributes: written under the shared lock, read without it where a
stale answer costs at most one more record started (workers read ``halted`` once per
chunk of records, and are interrupted besides).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class Lifecycle:
    __slots__ = ("closed", "halted", "stop_reason")

    def __init__(self) -> None:
        self.halted = False
        self.closed = False
        self.stop_reason: str | None = None

    def halt(self, reason: str) -> None:
        """RUNNING -> HALTED (kept as is when already halted). Called under the lock;
        ``halted`` first, as readers without the lock take a stop reason to mean halted."""
        self.halted = True
        if self.stop_reason is None:
            self.stop_reason = reason
            log.error("work manager stops: %s", reason)

    def is_halted(self) -> bool:
        return self.halted
