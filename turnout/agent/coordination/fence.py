"""The fence: what the agent stops when it cannot prove its session alive, and what it
gives up when the session is gone.

ZooKeeper may expire a silent session without the client knowing until it reconnects,
so the agent keeps its own clock: the lease (``lease.py``), renewed by the heartbeat.
A dropped connection, a network partition without any error and a frozen process all
look the same: the lease runs out.

States (of the agent, ``AgentState``)::

    live ──lease deadline passed──▶ FENCED: the gate shuts (no record starts), every
          fetch pauses, nothing is committed; ownership (owner nodes) is kept
    FENCED ──renewed on the same session──▶ back to RUNNING / PAUSED / REBALANCING,
          and a reconcile soon
    any ──session LOST──▶ REJOINING: every partition dropped without committing (a
          successor replays from the last commit: duplicates bounded by the commit
          interval and count), a sweep of the old session's leftovers asked for

A fence is counted (``fence_events``) and reported once however long it lasts.
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.states import AgentState
from turnout.agent.datapath import DataPath
from turnout.agent.lease import Lease, LeaseState


class Fence:
    def __init__(
        self,
        context: CoordinationContext,
        lease: Lease,
        data: DataPath,
        steady_state: Callable[[], AgentState],
    ) -> None:
        self._config = context.config
        self._intake = context.intake
        self._board = context.board
        self._metrics = context.metrics
        self._observer = context.observer
        self._log = context.log
        self._lease = lease
        self._data = data
        self._steady_state = steady_state

    def check(self) -> None:
        """Fence if the lease ran out; lift the fence if it was renewed."""
        fenced = self._lease.state() is not LeaseState.VALID
        state = self._board.state
        if fenced and state not in (AgentState.FENCED, AgentState.REJOINING):
            self._metrics.inc("fence_events")
            self._metrics.fenced.set(1)
            self._board.report_error(
                f"fenced: no word from ZooKeeper for {self._config.fence_after_s:.1f} s;"
                " processing and commits stopped"
            )
            self._board.set_state(AgentState.FENCED)
            self._data.feed.update_pauses()
            if self._observer is not None:
                self._observer.fenced("lease expired")
        elif not fenced and state is AgentState.FENCED:
            self._metrics.fenced.set(0)
            self._log.info("fence lifted: session intact", extra={"event": "unfenced"})
            self._board.set_state(self._steady_state())
            self._intake.reconcile_soon()
            self._data.feed.update_pauses()

    def session_lost(self, was_registered: bool) -> None:
        """The session is gone (``Session.handle_connection_events``): drop everything
        uncommitted and prepare to rejoin."""
        self._metrics.inc("sessions_lost")
        lost = self._data.drop_all()
        self._metrics.inc("partitions_lost", lost)
        if was_registered:
            self._board.report_error(
                f"ZooKeeper session lost: dropped {lost} partitions uncommitted"
            )
        self._intake.request_sweep()
        self._board.set_state(AgentState.REJOINING)
        if self._observer is not None:
            self._observer.fenced("session lost")
