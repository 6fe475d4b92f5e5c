"""The agent's status znode, ``instances/<name>/status``, composed and written.

``StatusPublisher`` composes the status on the agent thread from the parts' state, shows
it on the ``StatusBoard`` (``Agent.status()``) and writes it, on this cadence:

- a change a part reports (state, ownership, epoch, readiness, an error:
  ``board.changed``) is written at once, but at most once per ``STATUS_MIN_INTERVAL_S``
  (a burst of changes costs one write per interval, and the last one is always written);
- every ``STATUS_REFRESH_S`` the status is composed again (counters and the processing
  rate move, readiness may have changed) and written if anything it shows differs from
  what was last written;
- every ``STATUS_MAX_INTERVAL_S`` it is written regardless (``updated_at`` shows the
  instance alive).

Writes never wait for ZooKeeper (``ZkGateway.set_nowait``): the agent thread may also be
the one that fetches records, and a slow ZooKeeper must not hold its data path up. One
write is in flight at a time; a newer status waits for its answer (the next step after
it sends the newest). A write unanswered after ``WRITE_ANSWER_TIMEOUT_S`` (the connection
is down: kazoo keeps it queued) is given up on, and the next status goes out. The first
write on a session creates the node, a blocking round trip once per session like the
registration itself.

The node is an ephemeral of the current session. Failures: a write that fails is logged
and made again at the next interval; a node gone (deleted, or a new session) is created
again.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.readiness import is_ready
from turnout.agent.coordination.reconciler import Reconciler
from turnout.agent.coordination.session import Session
from turnout.agent.datapath import RecordFeed
from turnout.agent.ephemerals import put_ephemeral
from turnout.agent.lease import LeaseState
from turnout.protocol import InstanceStatus
from turnout.zk import ZkError, ZkNoNodeError

#: A change is written at most this often: a status read right after a switch shows it
#: (well within a second), while a burst of changes costs a few writes, not one each.
STATUS_MIN_INTERVAL_S = 0.1
#: The status is composed again this often, and written if what it shows changed: the
#: processing rate and the counters are never more than this old.
STATUS_REFRESH_S = 1.0
#: ... and written at least this often regardless (its ``updated_at`` moves).
STATUS_MAX_INTERVAL_S = 5.0
#: A write unanswered for this long is given up on (kazoo keeps a request queued while
#: the connection is down; the fence handles a session that is really gone).
WRITE_ANSWER_TIMEOUT_S = 5.0

#: Fields that change with every composition and are no change of what the status shows.
_UNCOMPARED = frozenset({"updated_at"})


class StatusPublisher:
    def __init__(
        self,
        context: CoordinationContext,
        session: Session,
        feed: RecordFeed,
        reconciler: Reconciler,
    ) -> None:
        self._config = context.config
        self._paths = context.paths
        self._clock = context.environment.clock
        self._board = context.board
        self._metrics = context.metrics
        self._log = context.log
        self._session = session
        self._feed = feed
        self._reconciler = reconciler
        self._written_at = float("-inf")
        self._composed_at = float("-inf")
        #: What the last write sent showed (``_UNCOMPARED`` left out).
        self._written: dict[str, Any] | None = None
        #: The session our status node was last written under (set() is then enough).
        self._written_session = 0
        #: When the write in flight was sent (None: none in flight), and its number.
        self._in_flight_since: float | None = None
        self._sent = 0
        #: Answers by write number, set on kazoo's thread (an answer to a write given up
        #: on is never taken for a later write's).
        self._answers: dict[int, ZkError | None] = {}
        self._answer_lock = threading.Lock()

    def compose(self) -> InstanceStatus:
        reconciler = self._reconciler
        binding = reconciler.binding
        group = binding.group if binding else ""
        fenced = self._session.lease.state() in (LeaseState.FENCED, LeaseState.REVOKED)
        return InstanceStatus(
            instance=self._config.instance,
            colour=self._config.colour,
            version=self._config.version,
            epoch=reconciler.applied_epoch,
            state=str(self._board.state),
            owned=tuple(h.row(group) for _, h in sorted(self._feed.held.items())),
            fenced=fenced,
            counters=self._metrics.snapshot(),
            errors=self._board.errors,
            ready=not fenced
            and reconciler.crossing_refused is None
            and is_ready(
                self._board.state,
                registered=self._session.registered,
                standby=binding is None,
                warm=reconciler.warm,
            ),
            processing_version=self._board.processing_version,
            processing_refused=self._board.processing_refused,
        )

    def refresh(self) -> InstanceStatus:
        """Compose the status and show it (``Agent.status()``)."""
        status = self.compose()
        self._composed_at = self._clock()
        self._board.show(status)
        return status

    def publish_if_due(self) -> None:
        """Write the status if the cadence (see the module) says so; never waits for
        ZooKeeper but for the node's creation once per session."""
        self._take_answer()
        now = self._clock()
        board = self._board
        since_written = now - self._written_at
        if board.changed:
            status = self.refresh()
            due = since_written >= STATUS_MIN_INTERVAL_S
        elif now - self._composed_at >= STATUS_REFRESH_S:
            status = self.refresh()
            due = since_written >= STATUS_MAX_INTERVAL_S or self._shown(status) != self._written
        else:
            return
        if due and self._in_flight_since is None and self._write(status):
            self._written_at = now
            self._written = self._shown(status)
            board.changed = False

    @staticmethod
    def _shown(status: InstanceStatus) -> dict[str, Any]:
        return status.model_dump(exclude=set(_UNCOMPARED))

    def _write(self, status: InstanceStatus) -> bool:
        """Send ``status``; True if it went out (or was written)."""
        zk = self._session.gateway
        if zk is None or not self._session.registered or not zk.connected:
            return False
        path = self._paths.status(self._config.instance)
        data = status.to_bytes()
        try:
            session = zk.session_id
            if self._written_session == session:
                self._sent += 1
                self._in_flight_since = self._clock()
                zk.set_nowait(path, data, functools.partial(self._answered, self._sent))
                return True
            if not put_ephemeral(zk, path, data, self._session.old_sessions):
                return False
            self._written_session = session
            return True
        except ZkError as exc:
            self._in_flight_since = None
            self._log.debug("status write failed: %s", exc)
            return False

    def _answered(self, sent: int, error: ZkError | None) -> None:
        # kazoo's completion thread: only note the answer.
        with self._answer_lock:
            self._answers[sent] = error

    def _take_answer(self) -> None:
        """Take the answer to the write in flight, if it came (or give up on it)."""
        if self._in_flight_since is None:
            return
        with self._answer_lock:
            answered = self._sent in self._answers
            error = self._answers.get(self._sent)
            self._answers.clear()
        if not answered:
            if self._clock() - self._in_flight_since >= WRITE_ANSWER_TIMEOUT_S:
                self._in_flight_since = None
                self._board.mark_changed()
            return
        self._in_flight_since = None
        if error is None:
            return
        if isinstance(error, ZkNoNodeError):
            self._written_session = 0  # gone: create it again
        self._log.debug("status write failed: %s", error)
        self._board.mark_changed()
