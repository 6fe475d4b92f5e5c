"""The fence and session loss, on one agent over the in-memory ZooKeeper and Kafka with a
clock the test moves: the transitions of ``coordination/fence.py`` and docs/protocol.md."""

from __future__ import annotations

from tests.unit.agent.kit import FENCE_AFTER_S, GROUP, TOPIC, running_agent
from turnout.agent import AgentState, CommitPoint

TP0 = (TOPIC, 0)


def test_silence_past_the_fence_window_fences_and_shuts_the_gate() -> None:
    rig = running_agent()
    gate = rig.dispatcher.context.may_start
    assert gate(TP0)
    rig.clock.advance(FENCE_AFTER_S + 0.01)  # no renewal: the heartbeat was starved
    assert not gate(TP0)  # the gate needs no agent-thread step
    rig.loop.step()
    assert rig.loop.board.state is AgentState.FENCED
    assert rig.counter("fence_events") == 1
    assert rig.observer.fences == ["lease expired"]
    assert rig.source.paused == {TP0}  # every fetch paused
    assert rig.loop.board.shown().fenced
    assert TP0 in rig.held()  # ownership is kept


def test_a_renewal_on_the_same_session_lifts_the_fence_with_ownership_intact() -> None:
    rig = running_agent()
    session = rig.gateway.session_id
    rig.clock.advance(5.0)
    rig.loop.step()
    assert rig.loop.board.state is AgentState.FENCED
    rig.loop.session.renew_lease()
    rig.loop.step()
    assert rig.loop.board.state is AgentState.RUNNING
    assert rig.dispatcher.context.may_start(TP0) and TP0 in rig.held()
    assert rig.gateway.session_id == session and rig.dispatcher.closed == []
    assert rig.source.paused == frozenset()
    assert rig.counter("fence_events") == 1


def test_a_fence_is_counted_once_however_long_it_lasts() -> None:
    rig = running_agent()
    for _ in range(5):
        rig.clock.advance(1.0)
        rig.loop.step()
    assert rig.loop.board.state is AgentState.FENCED
    assert rig.counter("fence_events") == 1
    assert rig.observer.fences == ["lease expired"]


def test_session_loss_drops_everything_uncommitted_and_rejoins() -> None:
    rig = running_agent()
    rig.dispatcher.points[TP0] = CommitPoint(5)  # progress, not due for a commit yet
    rig.step()
    gateway = rig.gateway
    lost_session = gateway.session_id
    gateway.disconnect(rig.clock.now)
    gateway.expire()
    gateway.reconnect()  # LOST, then CONNECTED on a new session ...
    gateway.disconnect(rig.clock.now)  # ... which drops again before the agent registers
    rig.loop.step()
    assert rig.loop.board.state is AgentState.REJOINING
    assert rig.held() == frozenset()
    assert not rig.dispatcher.context.may_start(TP0)
    assert rig.dispatcher.closed == [(TP0, 0.0, False)]  # no drain: ownership is gone
    assert rig.counter("commits") == 0 and rig.kafka.committed == {}
    assert rig.counter("sessions_lost") == 1
    assert rig.counter("partitions_lost") == 1
    assert lost_session in rig.loop.session.old_sessions
    assert not rig.loop.session.registered
    assert rig.observer.fences == ["session lost"]

    gateway.reconnect()
    rig.settle(lambda: rig.loop.board.state is AgentState.RUNNING and TP0 in rig.held())
    assert rig.loop.session.lease.session_id == gateway.session_id != lost_session
    assert rig.loop.data.feed.held[TP0].claim.group == GROUP
