"""The agent's status znode, ``instances/<name>/status``, composed and written.

``StatusPublisher`` composes the status on the agent thread from the parts' state, shows
it on the ``StatusBoard`` (``Agent.status()``) and writes it: at most every
``STATUS_MIN_INTERVAL_S`` when something changed, and every ``STATUS_MAX_INTERVAL_S``
regardless (counters move).

The node is an ephemeral of the current session. Failures: a write that fails is logged
and retried at the next interval; a node gone (a new session) is created again.
"""

from __future__ import annotations

from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.reconciler import Reconciler
from turnout.agent.coordination.session import Session
from turnout.agent.datapath import RecordFeed
from turnout.agent.ephemerals import put_ephemeral
from turnout.agent.lease import LeaseState
from turnout.protocol import InstanceStatus
from turnout.zk import ZkError, ZkNoNodeError

#: Status znode writes: at most this often when something changed ...
STATUS_MIN_INTERVAL_S = 0.25
#: ... and at least this often regardless (counters move).
STATUS_MAX_INTERVAL_S = 5.0


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
        self._written_at = 0.0
        #: The session our status node was last written under (set() is then enough).
        self._written_session = 0

    def compose(self) -> InstanceStatus:
        binding = self._reconciler.binding
        group = binding.group if binding else ""
        return InstanceStatus(
            instance=self._config.instance,
            colour=self._config.colour,
            version=self._config.version,
            epoch=self._reconciler.applied_epoch,
            state=str(self._board.state),
            owned=tuple(h.row(group) for _, h in sorted(self._feed.held.items())),
            fenced=self._session.lease.state() in (LeaseState.FENCED, LeaseState.REVOKED),
            counters=self._metrics.snapshot(),
            errors=self._board.errors,
            processing_version=self._board.processing_version,
            processing_refused=self._board.processing_refused,
        )

    def refresh(self) -> InstanceStatus:
        """Compose the status and show it (``Agent.status()``)."""
        status = self.compose()
        self._board.show(status)
        return status

    def publish_if_due(self) -> None:
        board = self._board
        now = self._clock()
        since = now - self._written_at
        if since < STATUS_MIN_INTERVAL_S or (not board.changed and since < STATUS_MAX_INTERVAL_S):
            if board.changed:
                self.refresh()
            return
        status = self.refresh()
        self._written_at = now
        zk = self._session.gateway
        if zk is None or not self._session.registered or not zk.connected:
            return
        path = self._paths.status(self._config.instance)
        try:
            session = zk.session_id
            if self._written_session == session:
                try:
                    zk.set(path, status.to_bytes())
                except ZkNoNodeError:
                    self._written_session = 0
            if self._written_session != session:
                if not put_ephemeral(zk, path, status.to_bytes(), self._session.old_sessions):
                    return
                self._written_session = session
            board.changed = False
        except ZkError as exc:
            self._log.debug("status write failed: %s", exc)
