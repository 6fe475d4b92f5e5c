"""The agent's ZooKeeper session: connect, register, prove it alive, notice its loss.

States::

    NO GATEWAY ──connect──▶ CONNECTED ──instance node written, lease started──▶ REGISTERED
    REGISTERED ──LOST, or CONNECTED on another session──▶ CONNECTED (unregistered: the
               old session joins ``old_sessions``, the lease is revoked, ``on_lost`` runs)
    REGISTERED ──instance node gone (deleted by hand)──▶ CONNECTED (``unregistered``)
    any ──close──▶ closed (the gateway stops: the session's ephemerals go with it)

Registration binds the gateway to the session it was made on: after a loss kazoo opens
the next session by itself, and a step still under way (a process frozen mid-step and
woken on the new session) must not write there what it meant for the old one.

The heartbeat thread renews the lease with one ZooKeeper read per interval: a read that
succeeded on the lease's session proves it alive from the moment it was sent
(``lease.py``). What an expired lease does is the fence's (``fence.py``).

Failures: a connect or a registration that fails is reported and retried by the loop
every ``CONNECT_RETRY_S``; an instance node held by another live session (an earlier
process of the same instance, not expired yet) is waited for; a renewal that fails
renews nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Set

from turnout.agent.coordination.context import CoordinationContext
from turnout.agent.coordination.states import AgentState
from turnout.agent.ephemerals import put_ephemeral
from turnout.agent.lease import Lease, heartbeat_interval
from turnout.protocol import InstanceRegistration
from turnout.protocol.models import utc_now
from turnout.zk import ConnectionState, ZkError, ZkGateway

#: How long ``close`` waits for the heartbeat thread to end: it ends within one renewal,
#: and a renewal fails fast once the gateway has stopped.
HEARTBEAT_JOIN_S = 2.0


class Session:
    def __init__(self, context: CoordinationContext) -> None:
        self._config = context.config
        self._paths = context.paths
        self._env = context.environment
        self._clock = context.environment.clock
        self._intake = context.intake
        self._board = context.board
        self._log = context.log
        self.lease = Lease(context.config.fence_after_s, self._clock)
        self._gateway: ZkGateway | None = None
        self._old_sessions: set[int] = set()
        self._registered = False
        self._started_at = utc_now()
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def gateway(self) -> ZkGateway | None:
        return self._gateway

    @property
    def old_sessions(self) -> Set[int]:
        """Earlier, lost sessions of this agent: their leftover ephemerals are ours."""
        return self._old_sessions

    @property
    def registered(self) -> bool:
        return self._registered

    def connect(self) -> bool:
        """Start a gateway (and the heartbeat thread); False if ZooKeeper is unreachable."""
        zk = self._env.new_gateway(self._config)
        try:
            zk.start()
        except ZkError as exc:
            self._board.report_error(f"ZooKeeper: {exc}")
            return False
        zk.add_state_listener(self._intake.on_connection)
        self._gateway = zk
        if self._env.heartbeat_thread:
            self._heartbeat = threading.Thread(
                target=self._beat,
                name=f"turnout-heartbeat-{self._config.instance}",
                daemon=True,
            )
            self._heartbeat.start()
        return True

    def renew_lease(self) -> None:
        """One proof of life (the heartbeat's turn): a ZooKeeper read on the current
        session renews the lease from the moment the read was sent."""
        zk = self._gateway
        if zk is None:
            return
        sent = self._clock()
        session = zk.session_id
        try:
            zk.exists(self._paths.instance(self._config.instance))
        except ZkError:
            return
        if zk.session_id == session:
            self.lease.renew(session, sent)

    def _beat(self) -> None:
        interval = heartbeat_interval(self._config.fence_after_s)
        while not self._closed.is_set():
            self.renew_lease()
            self._closed.wait(interval)

    def handle_connection_events(self, on_lost: Callable[[bool], None]) -> None:
        """Take the connection changes kazoo reported; for each loss of the registered
        session, ``on_lost(was_registered)`` after the session's own bookkeeping."""
        zk = self._gateway
        assert zk is not None
        while (state := self._intake.next_connection_event()) is not None:
            self._log.info("ZooKeeper %s", state, extra={"event": "zk_state", "state": str(state)})
            if state is ConnectionState.LOST:
                self._lost(on_lost)
            elif state is ConnectionState.CONNECTED:
                if self._registered and zk.session_id != self.lease.session_id:
                    self._lost(on_lost)
                self._intake.reconcile_soon()
            self._board.mark_changed()

    def _lost(self, on_lost: Callable[[bool], None]) -> None:
        was_registered = self._registered
        if self.lease.session_id:
            self._old_sessions.add(self.lease.session_id)
        self.lease.revoke()
        self._registered = False
        on_lost(was_registered)

    def register(self) -> bool:
        """Write the instance node on the current session and start the lease; False if
        not now (not connected, the node held by another live session, an error)."""
        zk = self._gateway
        assert zk is not None
        if not zk.connected:
            return False
        sent = self._clock()
        session = zk.session_id
        zk.bind_session(session)
        try:
            # Our nodes get the ACL of the deployment's directories (open, or writable by
            # the deployment's ZooKeeper user and the control plane only).
            zk.inherit_acl(self._paths.instances)
            path = self._paths.instance(self._config.instance)
            if not put_ephemeral(
                zk,
                path,
                self._registration(session).to_bytes(),
                self._old_sessions,
                self._intake.on_watch,
            ):
                self._board.report_error(
                    f"instance {self._config.instance} is registered by another live session;"
                    " waiting for it to end"
                )
                return False
        except ZkError as exc:
            self._board.report_error(f"registration failed: {exc}")
            return False
        if zk.session_id != session:
            return False
        if self.lease.session_id != session:
            self.lease.start(session, sent)
        self._registered = True
        self._board.set_state(AgentState.REGISTERED)
        self._log.info(
            "registered (session 0x%x)", session, extra={"event": "registered", "session": session}
        )
        self._board.mark_changed()
        self._intake.reconcile_soon()
        return True

    def unregistered(self) -> None:
        """Our instance node is gone though the session lives: register again."""
        self._registered = False

    def deregister(self) -> None:
        """Delete the instance node (peers start rebalancing at once); best effort."""
        zk = self._gateway
        if zk is not None and zk.connected and self._registered:
            with contextlib.suppress(ZkError):
                zk.delete(self._paths.instance(self._config.instance))

    def delete_status(self) -> None:
        """Delete the status node; best effort."""
        if self._gateway is not None:
            with contextlib.suppress(ZkError):
                self._gateway.delete(self._paths.status(self._config.instance))

    def close(self) -> None:
        """Stop the gateway (the session's ephemerals go with it) and the heartbeat."""
        self._closed.set()
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=HEARTBEAT_JOIN_S)

    def _registration(self, session_id: int) -> InstanceRegistration:
        return InstanceRegistration(
            instance=self._config.instance,
            colour=self._config.colour,
            version=self._config.version,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self._started_at,
            session_id=session_id,
        )
