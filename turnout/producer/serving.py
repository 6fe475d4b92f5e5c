"""Who serves a producer's librdkafka callbacks (delivery reports, errors), and when.

librdkafka queues its callbacks until someone calls ``poll`` (or ``flush``, or a
transactional call, which poll inside). Two rules shape this module:

- **One server at a time.** Every serving call is made holding the *turn* (a lock), so
  the callbacks, and the counts they keep, have a single writer at any moment.
- **Serve where the GIL already is.** A delivery report runs Python code. Served by a
  second thread while the producing thread is busy, every report would wait for the
  GIL to be handed over; served by the producing thread itself, between two produces,
  a batch of reports costs no handover at all.

So the producing thread serves *inline* (``poll(0)``) every :data:`INLINE_SERVE_EVERY`
messages, if the turn is free, and the background poller thread serves whenever the
producing thread has not tried to since the poller last looked: when production is
idle or slow, and for the reports of a burst's last messages. A caller waiting for queue
space serves while it waits, and ``flush`` and the transactional calls hold the turn for
their whole call.

Poller states::

    NEW --start()--> RUNNING --stop()--> STOPPED

RUNNING loops: if inline serving was attempted since its last look, it stays out for
:data:`HOT_BACKOFF_S`; otherwise it takes the turn and polls for up to
:data:`POLL_SLICE_S`. An exception from a callback is logged and the loop goes on (a dead
poller would leave every later future pending). ``stop()`` ends the loop within one
slice; after it, inline serving and waiting callers serve no more (the handle is about
to close), and only a holder of the turn does (``close`` flushes that way).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: The producing thread serves inline once per this many messages (a power of two: the
#: check is a mask). At hundreds of thousands of messages a second that is every few
#: milliseconds, which keeps reports flowing and the queue draining, while the serving
#: call's fixed cost is spread over many messages.
INLINE_SERVE_EVERY = 1024
INLINE_SERVE_MASK = INLINE_SERVE_EVERY - 1
#: How long the poller waits inside one poll. It holds the turn meanwhile, so this
#: bounds how long another server (a full queue's waiter, close, a transactional call)
#: waits for it, and how soon the poller notices that the producing thread serves.
POLL_SLICE_S = 0.05
#: How long the poller stays out once it sees the producing thread serving inline: the
#: extra wait, at most, for the reports of the last messages of a burst.
HOT_BACKOFF_S = 0.01
#: ``stop`` waits this long for the poller to leave its slice; past it the thread (a
#: daemon) is reported and left, since a poll cannot be interrupted.
STOP_TIMEOUT_S = 5.0

logger = logging.getLogger("turnout.producer")


class CallbackServer:
    """Serves the callbacks of one librdkafka handle through ``poll``."""

    def __init__(self, poll: Callable[[float], int], name: str) -> None:
        self._poll = poll
        self._turn = threading.Lock()
        self._stopping = threading.Event()
        #: Bumped by every inline attempt; only ever compared for change, so a bump lost
        #: to a race between producing threads costs nothing.
        self._inline_attempts = 0
        self._thread = threading.Thread(target=self._run, name=f"{name}-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> bool:
        """Stop the poller; True once its thread has ended."""
        self._stopping.set()
        if self._thread.ident is None:
            return True
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            logger.error("%s did not stop within %.1f s", self._thread.name, STOP_TIMEOUT_S)
            return False
        return True

    def serve_inline(self) -> None:
        """Serve what is queued now, if nobody else is serving (the producing thread)."""
        self._inline_attempts += 1
        if self._turn.acquire(blocking=False):
            try:
                if not self._stopping.is_set():
                    self._poll(0)
            finally:
                self._turn.release()

    def serve_for(self, wait_s: float) -> None:
        """Serve for up to ``wait_s``, returning once a callback was served (a caller
        waiting for queue space). If another server holds the turn, waiting for it is
        the wait: that server is freeing space meanwhile."""
        self._inline_attempts += 1
        if self._turn.acquire(timeout=wait_s):
            try:
                if not self._stopping.is_set():
                    self._poll(wait_s)
            finally:
                self._turn.release()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn: for calls that serve callbacks themselves (flush, transactions).
        Waits at most one poller slice, plus what another such call takes."""
        with self._turn:
            yield

    def _run(self) -> None:
        seen = self._inline_attempts
        while not self._stopping.is_set():
            if self._inline_attempts != seen:
                seen = self._inline_attempts
                self._stopping.wait(HOT_BACKOFF_S)
                continue
            if not self._turn.acquire(timeout=POLL_SLICE_S):
                continue
            try:
                self._poll(POLL_SLICE_S)
            except Exception:
                logger.exception("serving the producer's callbacks failed")
            finally:
                self._turn.release()
