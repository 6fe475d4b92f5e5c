"""What the agent thread is asked to do, and its wake-up.

kazoo's event thread runs the connection listener and the watch callbacks; they must
never block (kazoo#355), so they only note what happened here and wake the agent thread,
which takes the notes at its next step. The agent thread notes its own requests here too
(reconcile soon, sweep), when a step cannot finish something.

Watch events come in bursts (a join changes ``instances/`` and then ``assignments/``), so
a reconcile waits until a burst has been quiet for ``DEBOUNCE_S``, but never longer than
``DEBOUNCE_MAX_S`` after its first event. Two kinds do not wait: a directive change (one
write, and a switch's handover starts with it) and freed owner nodes (the claims waiting
for them). A change of the published assignment only asks for a look at it.

Every flag is under one lock, held for a few assignments.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from turnout.protocol import DeploymentPaths
from turnout.zk import ConnectionState, WatchEvent

#: Reconcile once a burst of watch events has been quiet this long ...
DEBOUNCE_S = 0.03
#: ... but never later than this after its first event, so a steady trickle of events
#: cannot starve reconciliation.
DEBOUNCE_MAX_S = 0.25


class EventIntake:
    def __init__(self, paths: DeploymentPaths, clock: Callable[[], float]) -> None:
        self._paths = paths
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._connection_events: collections.deque[ConnectionState] = collections.deque()
        #: First and last watch event of the burst not reconciled yet (None: none).
        self._dirty_first: float | None = None
        self._dirty_last = 0.0
        #: The directive's watch fired: reconcile without waiting for the burst to end.
        self._directive_changed = False
        #: The published assignment's watch fired: look whether it still is ours.
        self._assignment_changed = False
        #: Owner nodes pending claims waited for went: claim now.
        self._claims_due = False
        #: Owner nodes may exist that this session created but does not track.
        self._sweep_due = False

    # ---- kazoo's event thread (never blocks) --------------------------------------------

    def on_connection(self, state: ConnectionState) -> None:
        with self._lock:
            self._connection_events.append(state)
        self._wake.set()

    def on_watch(self, event: WatchEvent) -> None:
        if event.path.startswith(self._paths.assignments + "/"):
            # Mostly the colour's own publishing (ours or a peer's adopting the same
            # map): one read tells, where a reconcile would re-read everything while a
            # handover's claims wait behind it.
            with self._lock:
                self._assignment_changed = True
            self._wake.set()
            return
        if event.path == self._paths.directive:
            with self._lock:
                self._directive_changed = True
        self.reconcile_soon()

    # ---- either thread ------------------------------------------------------------------

    def reconcile_soon(self) -> None:
        """Reconcile once the current burst of events is over."""
        now = self._clock()
        with self._lock:
            if self._dirty_first is None:
                self._dirty_first = now
            self._dirty_last = now
        self._wake.set()

    def retry_claims(self) -> None:
        """Owner nodes the pending claims waited for went: try them at the next step."""
        with self._lock:
            self._claims_due = True
        self._wake.set()

    def request_sweep(self) -> None:
        """The next reconcile also deletes owner nodes this session may hold untracked."""
        with self._lock:
            self._sweep_due = True

    def wake(self) -> None:
        self._wake.set()

    # ---- the agent thread ---------------------------------------------------------------

    def wait(self, timeout_s: float) -> None:
        """Wait at most ``timeout_s`` for a wake-up (not at all if 0), then take it."""
        if timeout_s > 0:
            self._wake.wait(timeout_s)
        self._wake.clear()

    def next_connection_event(self) -> ConnectionState | None:
        with self._lock:
            return self._connection_events.popleft() if self._connection_events else None

    def directive_changed(self) -> bool:
        with self._lock:
            return self._directive_changed

    def debounce_over(self, now: float) -> bool:
        """Whether the events noted ask for a reconcile now."""
        with self._lock:
            if self._dirty_first is None:
                return False
            return (
                self._directive_changed
                or now - self._dirty_last >= DEBOUNCE_S
                or now - self._dirty_first >= DEBOUNCE_MAX_S
            )

    def take_claims_due(self) -> bool:
        with self._lock:
            due, self._claims_due = self._claims_due, False
        return due

    def take_assignment_changed(self) -> bool:
        with self._lock:
            changed, self._assignment_changed = self._assignment_changed, False
        return changed

    def take_sweep_due(self) -> bool:
        with self._lock:
            due, self._sweep_due = self._sweep_due, False
        return due

    def reconcile_started(self) -> None:
        """A reconcile re-reads everything: what the events asked for is covered."""
        with self._lock:
            self._dirty_first = None
            self._directive_changed = False
            self._claims_due = False
            self._assignment_changed = False
