"""Faults: crashed, frozen and expired owners; ZooKeeper stalled and restarted.

Agents that are killed or frozen run as subprocesses (``tests.support.agent_process``:
the CLI's code path); ZooKeeper faults use a dedicated server started by the test.
Sessions are 4 s, the fence margin 1 s (the agent stops 3 s into a silence).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.agent_kit import SESSION_TIMEOUT_S, World
from tests.support.waiting import wait_until, wait_until_frozen
from turnout.agent import AgentState
from turnout.agent.coordination.reconciler import RESYNC_INTERVAL_S
from turnout.devstack.standalone import StandaloneZooKeeper
from turnout.verify import Claimed, Committed, Fenced, Processed, read_events
from turnout.zk import ZkGateway

#: Subprocess agents start a Python interpreter, connect and rebalance: a few seconds
#: on a loaded box.
SPAWN_SETTLE_S = 30.0
#: ZooKeeper expires a session between S and S + one tick after the last heartbeat; the
#: survivor then needs a watch round trip and a claim.
TAKEOVER_LIMIT_S = SESSION_TIMEOUT_S + 4.0
#: An agent notices a change nobody told it about at its periodic full re-read.
RESYNC_LIMIT_S = RESYNC_INTERVAL_S + 5.0


def test_sigkilled_owner_is_taken_over_after_the_session_timeout_with_bounded_duplicates(
    make_world: Callable[..., World], offset_store: str
) -> None:
    world = make_world(partitions=4, offset_store=offset_store)
    world.create_directive()
    victim = world.spawn_agent("a")
    survivor = world.spawn_agent("b")
    wait_until(lambda: world.balanced({"a", "b"}), SPAWN_SETTLE_S, "a and b share")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 300, 30, "records processed")
    killed_at = time.monotonic()
    victim.kill()
    wait_until(lambda: world.all_owned({"b"}), TAKEOVER_LIMIT_S + 2, "b takes everything")
    takeover_s = time.monotonic() - killed_at
    # Not before the session could expire (minus the fence margin's worth of slack for
    # heartbeats that were already late), and not much after.
    assert SESSION_TIMEOUT_S - 1.0 <= takeover_s <= TAKEOVER_LIMIT_S
    acked = load.stop()
    world.wait_drained(acked)
    assert survivor.terminate() == 0
    report = world.check(planned_only=False)
    # Duplicates are allowed only for records a's commits had not covered yet.
    assert report.ok, report.to_dict()
    assert report.duplicates.after_commit == 0


def test_frozen_owner_woken_after_the_session_timeout_processes_and_commits_nothing_it_lost(
    make_world: Callable[..., World], offset_store: str
) -> None:
    world = make_world(partitions=4, offset_store=offset_store)
    world.create_directive()
    frozen = world.spawn_agent("a")
    world.spawn_agent("b")
    wait_until(lambda: world.balanced({"a", "b"}), SPAWN_SETTLE_S, "a and b share")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 300, 30, "records processed")
    frozen.signal(signal.SIGSTOP)
    # Only what it writes after it really stopped counts: until the kernel stops it, it
    # still owns its partitions and may commit them (this test process can be slower to
    # get here than the agent is to log a commit).
    wait_until(lambda: _stopped(frozen.process.pid), 5, "the agent to stop")
    stopped_ns = time.monotonic_ns()
    wait_until(lambda: world.all_owned({"b"}), TAKEOVER_LIMIT_S + 2, "b takes everything")
    time.sleep(1.0)
    woken_ns = time.monotonic_ns()
    frozen.signal(signal.SIGCONT)
    # a rejoins with a new session and gets its share back through release-then-claim.
    wait_until(lambda: world.balanced({"a", "b"}), 30, "a rejoins")
    acked = load.stop()
    world.wait_drained(acked)
    for spawned in world.spawned.values():
        assert spawned.terminate() == 0, spawned.output()
    events = read_events(world.log_dir)
    mine = [e for e in events if e.pid == frozen.process.pid and e.mono_ns > stopped_ns]
    claims: dict[int, list[int]] = {}
    for event in mine:
        if isinstance(event, Claimed):
            claims.setdefault(event.partition, []).append(event.mono_ns)
    for event in mine:
        if isinstance(event, Processed | Committed):
            at = event.start_ns if isinstance(event, Processed) else event.mono_ns
            reclaimed = [c for c in claims.get(event.partition, []) if woken_ns < c <= at]
            assert reclaimed, f"woken agent touched a partition it had lost: {event}"
    fences = [e for e in mine if isinstance(e, Fenced)]
    assert fences and fences[0].mono_ns >= woken_ns
    report = world.check(planned_only=False)
    assert report.ok, report.to_dict()
    assert report.overlaps.count == 0


def test_expired_session_drops_ownership_and_rejoins_without_orphan_ephemerals(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=4)
    world.create_directive()
    agent = world.start_agent("a")
    wait_until(lambda: world.all_owned({"a"}), 20, "a owns everything")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 100, 20, "records processed")
    old = agent.session
    assert old is not None
    # The standard way to expire a session for real: attach to it, then close it.
    thief = ZkGateway(world.zookeeper, client_id=old)
    thief.start()
    thief.stop()
    assert agent.wait_for(lambda a: a.metrics.snapshot()["sessions_lost"] == 1, 15)
    assert agent.wait_for(lambda a: a.session is not None and a.session[0] != old[0], 15)
    new = agent.session
    assert new is not None
    wait_until(lambda: world.all_owned({"a"}), 20, "a owns everything again")
    for tp in world.owners():
        stat = world.admin().exists(world.paths.owner(world.group, tp[0], tp[1]))
        assert stat is not None and stat.ephemeral_owner == new[0]
    assert agent.wait_for(lambda a: a.state is AgentState.RUNNING and not a.status().fenced, 10)
    acked = load.stop()
    world.wait_drained(acked)
    world.stop_all()
    report = world.check(planned_only=False)
    assert report.ok, report.to_dict()


def _dedicated(tmp_path: Path) -> tuple[StandaloneZooKeeper, str]:
    server = StandaloneZooKeeper(tmp_path / "zk")
    server.start()
    admin = ZkGateway(server.connect)
    admin.start()
    admin.ensure_path("/t")
    admin.stop()
    return server, server.connect + "/t"


def test_zookeeper_stall_shorter_than_the_session_fences_then_resumes_without_rebalancing(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    server, connect = _dedicated(tmp_path)
    try:
        world = make_world(partitions=4, zookeeper=connect)
        world.create_directive()
        a = world.start_agent("a")
        b = world.start_agent("b")
        wait_until(lambda: world.balanced({"a", "b"}), 20, "a and b share")
        before = world.owners()
        load = world.producer()
        wait_until(lambda: world.processed_count() > 100, 20, "records processed")
        assert server.pid is not None
        # A frozen server does not tick, so no session expires, but clients hear nothing
        # for longer than the fence window (session - margin = 3 s).
        import os

        os.kill(server.pid, signal.SIGSTOP)
        wait_until_frozen(server.pid)
        try:
            assert a.wait_for(lambda x: x.state is AgentState.FENCED, 6)
            assert b.wait_for(lambda x: x.state is AgentState.FENCED, 2)
            done = world.processed_count()
            time.sleep(0.5)
            assert world.processed_count() == done  # fenced agents start nothing
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert a.wait_for(lambda x: x.state is AgentState.RUNNING, 15)
        assert b.wait_for(lambda x: x.state is AgentState.RUNNING, 15)
        after = world.owners()
        assert {tp: o.session_id for tp, o in after.items()} == {
            tp: o.session_id for tp, o in before.items()
        }
        assert a.metrics.snapshot()["sessions_lost"] == 0
        acked = load.stop()
        world.wait_drained(acked)
        world.stop_all()
        report = world.check(planned_only=True)
        assert report.ok, report.to_dict()
    finally:
        server.stop()


def test_zookeeper_restart_converges_ownership_and_loses_nothing(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    server, connect = _dedicated(tmp_path)
    try:
        world = make_world(partitions=4, zookeeper=connect)
        world.create_directive()
        a = world.start_agent("a")
        b = world.start_agent("b")
        wait_until(lambda: world.balanced({"a", "b"}), 20, "a and b share")
        load = world.producer()
        wait_until(lambda: world.processed_count() > 100, 20, "records processed")
        if world.zk is not None:
            world.zk.stop()  # the test's own client must not hold a stale session
            world.zk = None
        server.stop()
        time.sleep(SESSION_TIMEOUT_S + 1)
        server.start()
        wait_until(lambda: world.balanced({"a", "b"}), 40, "ownership converges")
        for agent in (a, b):
            assert agent.wait_for(lambda x: x.state is AgentState.RUNNING, 20), agent.status()
            assert agent.metrics.snapshot()["fence_events"] >= 1
        acked = load.stop()
        world.wait_drained(acked)
        world.stop_all()
        report = world.check(planned_only=False)
        assert report.ok, report.to_dict()
    finally:
        server.stop()


def test_an_instance_node_deleted_by_hand_is_recreated_and_ownership_kept(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=2)
    world.create_directive()
    agent = world.start_agent("a")
    wait_until(lambda: world.all_owned({"a"}), 20, "a owns everything")
    before = world.owners()
    world.admin().delete(world.paths.instance("a"))
    wait_until(
        lambda: world.admin().exists(world.paths.instance("a")) is not None,
        RESYNC_LIMIT_S,
        "the registration is back",
    )
    assert agent.wait_for(lambda a: a.state is AgentState.RUNNING, 10)
    assert world.owners() == before


def _stopped(pid: int) -> bool:
    """The process is stopped by a signal (state T in /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "T"
