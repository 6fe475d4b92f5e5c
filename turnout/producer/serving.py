"""Who serves a producer's librdkafka callbacks (delivery reports, errors), and when.

librdkafka queues its callbacks until someone calls ``poll`` (or ``flush``, or a
transactional call, which poll inside). Two rules shape this module:

- **One server at a time.** Every serving call is made holding the *turn* (a lock), so
  the callbacks, and the counts they keep, have a single writer at any moment; and
  whoever holds the turn sees no report half-served (see :meth:`CallbackServer.quiet`).
- **Serve where the GIL already is.** A delivery report runs Python code. Served by a
  second thread while the producing thread is busy, every report would wait for the
  GIL to be handed over; served by the producing thread itself, between two produces,
  a batch of reports costs no handover at all.

So the background poller thread does not serve while the producing thread is busy: it
*asks* it to, by raising :attr:`CallbackServer.serve_requested`, which the per-message
path reads (one attribute, no counter) and answers with :meth:`CallbackServer.serve_inline`
(``poll(0)``, if the turn is free). When nobody answers within :data:`HANDOFF_S`, the
producing thread is idle or gone, and the poller serves itself, in slices of
:data:`POLL_SLICE_S` (a slice returns as soon as it served something, so a lone message's
report is served at once). A caller waiting for queue space serves while it waits, and
``flush`` and the transactional calls hold the turn for their whole call.

Poller states::

    NEW --start()--> IDLE <--> BUSY ; IDLE or BUSY --stop()--> STOPPED

- IDLE: the poller requests a serve, polls one slice holding the turn, and if the
  request was answered meanwhile (the producing thread is producing), becomes BUSY.
  It starts no slice while a caller waits for the turn (``turn``): a lock is not fair,
  and a poller taking the turn back the moment it lets go would keep such a caller
  waiting slice after slice.
- BUSY: the poller requests a serve and waits :data:`HANDOFF_S` without the turn; an
  answered request keeps it BUSY, and so does a turn held by another server meanwhile;
  an unanswered request with the turn free makes it IDLE (and it serves).
- An exception from a callback is logged and the loop goes on: a dead poller would
  leave every later future pending.
- ``stop()`` ends the loop within one slice. After it, inline serving and waiting
  callers serve no more (the handle is about to close); only a holder of the turn does
  (``close`` flushes that way).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: How long the busy poller waits for the producing thread to answer a serve request.
#: It bounds the delay of a burst's last reports, and how often a busy producing thread
#: serves (at hundreds of thousands of messages a second, a few thousand messages per
#: serve: far below the queue's bound). The poller needs the GIL to raise a request, so
#: under load the real interval is this plus up to one interpreter switch interval.
HANDOFF_S = 0.002
#: How long the idle poller waits inside one poll. It holds the turn meanwhile, so this
#: bounds how long another server (a full queue's waiter, close, a transactional call,
#: a metrics scrape) waits for it. A producer whose calls wait on it in their critical
#: path (a transactional one) takes a shorter slice (``CallbackServer(poll_slice_s=)``).
POLL_SLICE_S = 0.05
#: ``stop`` waits this long for the poller to leave its slice; past it the thread (a
#: daemon) is reported and left, since a poll cannot be interrupted.
STOP_TIMEOUT_S = 5.0

logger = logging.getLogger("turnout.producer")


class CallbackServer:
    """Serves the callbacks of one librdkafka handle through ``poll``."""

    def __init__(
        self, poll: Callable[[float], int], name: str, poll_slice_s: float = POLL_SLICE_S
    ) -> None:
        self._poll = poll
        self._poll_slice_s = poll_slice_s
        self._turn = threading.Lock()
        #: Callers of ``turn`` waiting for it; the poller leaves it to them.
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._stopping = threading.Event()
        #: Raised by the poller, lowered by whoever serves inline: read once per message.
        self.serve_requested = False
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
        """Answer a serve request: serve what is queued now, unless someone else is."""
        self.serve_requested = False
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
        self.serve_requested = False
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
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._turn.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._turn.release()

    @contextmanager
    def quiet(self, wait_s: float) -> Iterator[bool]:
        """Hold the turn if it comes within ``wait_s``; yields whether it did. While it is
        held no report is being served, so every message accepted so far is either
        reported (counted) or still in librdkafka's queue, never both or neither."""
        held = self._turn.acquire(timeout=wait_s)
        try:
            yield held
        finally:
            if held:
                self._turn.release()

    def _run(self) -> None:
        busy = False
        while not self._stopping.is_set():
            self.serve_requested = True
            if busy or self._waiting:
                self._stopping.wait(HANDOFF_S)
            else:
                self._serve_slice()
            # Unanswered, but someone holds the turn: the producing thread may still be
            # serving the last answer (a large batch of reports); it is busy, not idle.
            busy = not self.serve_requested or self._turn.locked()

    def _serve_slice(self) -> None:
        slice_s = self._poll_slice_s
        if not self._turn.acquire(timeout=slice_s):
            return
        try:
            if not self._stopping.is_set():
                self._poll(slice_s)
        except Exception:
            logger.exception("serving the producer's callbacks failed")
        finally:
            self._turn.release()
