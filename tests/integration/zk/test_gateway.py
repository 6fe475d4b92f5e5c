"""The ZooKeeper gateway against a real ZooKeeper: what each request raises, compare-and-
set, ACLs, watches, batched and atomic requests, sessions and their binding, and the
bound on a request to a server that does not answer.

Each test gets its own chroot of the session's ZooKeeper (the ``zk`` and ``zk_root``
fixtures); the one that freezes a server starts a dedicated one.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.support.waiting import wait_until, wait_until_frozen
from turnout.devstack.standalone import StandaloneZooKeeper
from turnout.zk import (
    CheckOp,
    ConnectionState,
    CreateOp,
    SetOp,
    WatchEvent,
    WatchKind,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNoAuthError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkTransactionError,
    ZkUnavailableError,
    digest_acl,
    world_read_acl,
)

#: A watch notification on loopback arrives in milliseconds; a loaded box is slower.
WATCH_TIMEOUT_S = 5.0
#: A closed session is gone at once, and kazoo opens the next within a reconnect delay.
NEW_SESSION_TIMEOUT_S = 20.0
#: The bound under test, short so the test is; and what kazoo may add to it.
REQUEST_TIMEOUT_S = 1.0
REQUEST_ALLOWANCE_S = 2.0


class Watcher:
    """Records watch events; ``wait`` for the next one."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []
        self._fired = threading.Event()

    def __call__(self, event: WatchEvent) -> None:
        self.events.append(event)
        self._fired.set()

    def wait(self) -> None:
        assert self._fired.wait(WATCH_TIMEOUT_S), "the watch did not fire"
        self._fired.clear()


# ---- what each request raises ----------------------------------------------------------


def test_each_refused_request_raises_the_gateways_error_for_it(zk: ZkGateway) -> None:
    with pytest.raises(ZkNoNodeError):
        zk.get("/missing")
    with pytest.raises(ZkNoNodeError):
        zk.create("/missing/child")  # no parent, no makepath
    zk.create("/parent/child", b"", makepath=True)
    with pytest.raises(ZkNodeExistsError):
        zk.create("/parent/child")
    with pytest.raises(ZkNotEmptyError):
        zk.delete("/parent")
    with pytest.raises(ZkNoNodeError):
        zk.set("/missing", b"x")
    zk.delete("/parent", recursive=True)
    assert zk.exists("/parent") is None


def test_a_compare_and_set_with_a_stale_version_loses_and_changes_nothing(
    zk: ZkGateway,
) -> None:
    zk.create("/n", b"first")
    won = zk.set("/n", b"second", version=0)
    assert won.version == 1
    with pytest.raises(ZkBadVersionError):
        zk.set("/n", b"lost", version=0)
    with pytest.raises(ZkBadVersionError):
        zk.delete("/n", version=0)
    data, stat = zk.get("/n")
    assert (data, stat.version) == (b"second", 1)
    zk.delete("/n", version=1)
    assert zk.exists("/n") is None


def test_a_node_under_a_digest_acl_is_read_by_anyone_and_written_only_by_its_identity(
    zk_root: str,
) -> None:
    owner = ZkGateway(
        zk_root,
        auth=[("digest", "controlplane:s3cret")],
        default_acl=[digest_acl("controlplane", "s3cret"), world_read_acl()],
    )
    stranger = ZkGateway(zk_root)
    owner.start()
    stranger.start()
    try:
        owner.create("/guarded", b"mine")
        assert stranger.get("/guarded")[0] == b"mine"
        with pytest.raises(ZkNoAuthError):
            stranger.set("/guarded", b"theirs")
        with pytest.raises(ZkNoAuthError):
            stranger.create("/guarded/child")
        owner.set("/guarded", b"still mine")
        assert {(acl.id.scheme, acl.perms) for acl in stranger.get_acls("/guarded")} == {
            ("digest", digest_acl("controlplane", "s3cret").perms),
            ("world", world_read_acl().perms),
        }
    finally:
        stranger.stop()
        owner.stop()


# ---- watches ----------------------------------------------------------------------------


def test_a_data_watch_fires_once_on_change(zk: ZkGateway) -> None:
    watcher = Watcher()
    zk.create("/w", b"1")
    zk.get("/w", watch=watcher)
    zk.get("/w", watch=watcher)  # re-arming with the same callback registers it once
    zk.set("/w", b"2")
    watcher.wait()
    zk.set("/w", b"3")
    zk.sync("/w")
    assert [e.kind for e in watcher.events] == [WatchKind.CHANGED]


def test_an_exists_watch_sees_a_creation_and_a_data_watch_a_deletion(zk: ZkGateway) -> None:
    watcher = Watcher()
    assert zk.exists("/later", watch=watcher) is None
    zk.create("/later", b"")
    watcher.wait()
    zk.get("/later", watch=watcher)
    zk.delete("/later")
    watcher.wait()
    assert [(e.kind, e.path) for e in watcher.events] == [
        (WatchKind.CREATED, "/later"),
        (WatchKind.DELETED, "/later"),
    ]


def test_a_children_watch_fires_for_the_parent_when_a_child_comes_or_goes(
    zk: ZkGateway,
) -> None:
    watcher = Watcher()
    zk.ensure_path("/kids")
    assert zk.children("/kids", watch=watcher) == []
    zk.create("/kids/b")
    watcher.wait()
    assert zk.children("/kids", watch=watcher) == ["b"]
    zk.create("/kids/a")
    watcher.wait()
    assert zk.children("/kids") == ["a", "b"]  # sorted
    assert [(e.kind, e.path) for e in watcher.events] == [(WatchKind.CHILD, "/kids")] * 2


def test_children_with_stat_orders_two_reads(zk: ZkGateway) -> None:
    zk.ensure_path("/c")
    names, first = zk.children_with_stat("/c")
    zk.create("/c/x", ephemeral=True)
    names2, second = zk.children_with_stat("/c")
    assert names == [] and names2 == ["x"]
    assert second.children_version > first.children_version


def test_get_and_children_reads_both_in_one_go_and_watches_both(zk: ZkGateway) -> None:
    watcher = Watcher()
    assert zk.get_and_children("/d", "/p", watch=watcher) == (None, None)
    zk.create("/d", b"directive")
    zk.create("/p/a", makepath=True)
    node, listed = zk.get_and_children("/d", "/p", watch=watcher)
    assert node is not None and node[0] == b"directive"
    assert listed is not None and listed[0] == ["a"]
    zk.create("/p/b")
    watcher.wait()
    zk.set("/d", b"next")
    watcher.wait()
    assert sorted(e.path for e in watcher.events) == ["/d", "/p"]


# ---- batched and atomic requests --------------------------------------------------------


def test_a_transaction_is_all_or_nothing_and_names_the_failed_step(zk: ZkGateway) -> None:
    zk.create("/a", b"0")
    with pytest.raises(ZkTransactionError) as failure:
        zk.transaction([SetOp("/a", b"1"), CheckOp("/a", version=7), CreateOp("/b")])
    assert failure.value.failed == 1
    assert isinstance(failure.value.cause, ZkBadVersionError)
    assert zk.get("/a")[0] == b"0" and zk.exists("/b") is None
    zk.transaction([CheckOp("/a", version=0), SetOp("/a", b"1"), CreateOp("/b")])
    assert zk.get("/a")[0] == b"1" and zk.exists("/b") is not None


def test_get_many_reads_present_and_missing_nodes_in_one_go(zk: ZkGateway) -> None:
    zk.create("/m1", b"one")
    zk.create("/m2", b"two")
    found = zk.get_many(["/m1", "/nope", "/m2"])
    assert found["/nope"] is None
    assert found["/m1"] is not None and found["/m1"][0] == b"one"
    assert found["/m2"] is not None and found["/m2"][0] == b"two"


def test_batched_creates_deletes_and_exists_report_each_path_on_its_own(zk: ZkGateway) -> None:
    zk.create("/owners/t/1", b"taken", makepath=True)
    created = zk.create_many(
        [("/owners/t/0", b"a"), ("/owners/t/1", b"b"), ("/owners/t/2", b"c")], ephemeral=True
    )
    assert created["/owners/t/0"] is None and created["/owners/t/2"] is None
    assert isinstance(created["/owners/t/1"], ZkNodeExistsError)
    assert zk.get("/owners/t/1")[0] == b"taken"  # the failed create changed nothing

    seen = zk.exists_many(["/owners/t/0", "/owners/t/9"])
    assert seen["/owners/t/0"] is not None and seen["/owners/t/9"] is None
    assert seen["/owners/t/0"].ephemeral_owner == zk.session_id

    deleted = zk.delete_many([("/owners/t/0", -1), ("/owners/t/2", 5), ("/owners/t/9", -1)])
    assert deleted["/owners/t/0"] is None
    assert isinstance(deleted["/owners/t/2"], ZkBadVersionError)  # a delete stands alone
    assert isinstance(deleted["/owners/t/9"], ZkNoNodeError)
    assert zk.children("/owners/t") == ["1", "2"]


def test_batched_writes_and_transactions_report_each_on_its_own(zk: ZkGateway) -> None:
    zk.create("/w/0", b"a", makepath=True)
    zk.create("/w/1", b"b")
    written = zk.set_many([("/w/0", b"a2", 0), ("/w/1", b"b2", 7), ("/w/9", b"c", -1)])
    first = written["/w/0"]
    assert not isinstance(first, ZkError) and first.version == 1
    assert isinstance(written["/w/1"], ZkBadVersionError)  # a write stands alone
    assert isinstance(written["/w/9"], ZkNoNodeError)
    assert zk.get("/w/0")[0] == b"a2" and zk.get("/w/1")[0] == b"b"

    outcomes = zk.transaction_many(
        [
            [CheckOp("/w/0", version=1), SetOp("/w/0", b"a3", version=1)],
            [CheckOp("/w/1", version=5), SetOp("/w/1", b"b3")],
            [SetOp("/w/1", b"b4", version=0), CreateOp("/w/2", b"c")],
        ]
    )
    assert outcomes[0] is None
    refused = outcomes[1]
    assert isinstance(refused, ZkTransactionError) and refused.failed == 0
    assert isinstance(refused.cause, ZkBadVersionError)
    assert outcomes[2] is None  # applied after the refused one: each stands alone
    assert zk.get("/w/0")[0] == b"a3" and zk.get("/w/1")[0] == b"b4"
    assert zk.exists("/w/2") is not None


def test_transactions_together_apply_all_at_once_or_each_on_its_own(zk: ZkGateway) -> None:
    zk.create("/t/0", b"a", makepath=True)
    zk.create("/t/1", b"b")
    together = zk.transactions_together(
        [[SetOp("/t/0", b"a1", version=0)], [SetOp("/t/1", b"b1", version=0)]]
    )
    assert together == [None, None]
    assert zk.get("/t/0")[1].version == 1 and zk.get("/t/1")[1].version == 1

    # One batch no longer applies: the multi is refused, and each is applied alone.
    outcomes = zk.transactions_together(
        [[SetOp("/t/0", b"a2", version=1)], [SetOp("/t/1", b"b2", version=0)]]
    )
    assert outcomes[0] is None
    refused = outcomes[1]
    assert isinstance(refused, ZkTransactionError)
    assert isinstance(refused.cause, ZkBadVersionError)
    assert zk.get("/t/0")[0] == b"a2" and zk.get("/t/1")[0] == b"b1"


# ---- sessions ---------------------------------------------------------------------------


def expire(gateway: ZkGateway) -> None:
    """Close ``gateway``'s session from another client (the standard way to force a real
    expiry) and wait until kazoo has opened the next one."""
    old = gateway.client_id
    assert old is not None
    thief = ZkGateway(gateway.hosts, client_id=old)  # attach to it, then close it
    thief.start()
    thief.stop()
    wait_until(
        lambda: gateway.session_id not in (0, old[0]), NEW_SESSION_TIMEOUT_S, "a new session"
    )


def test_an_expired_session_is_reported_lost_then_a_new_one_connected_without_its_ephemerals(
    zk_root: str,
) -> None:
    states: list[ConnectionState] = []
    gateway = ZkGateway(zk_root, session_timeout_s=4)
    gateway.add_state_listener(states.append)
    gateway.start()
    try:
        gateway.create("/mine", b"", ephemeral=True)
        expire(gateway)
        wait_until(lambda: ConnectionState.LOST in states, NEW_SESSION_TIMEOUT_S, "LOST")
        wait_until(
            lambda: states[-1] is ConnectionState.CONNECTED,
            NEW_SESSION_TIMEOUT_S,
            lambda: f"CONNECTED after LOST, saw {states}",
        )
        assert gateway.exists("/mine") is None
    finally:
        gateway.stop()


def test_a_gateway_bound_to_a_session_writes_nothing_on_the_next(zk_root: str) -> None:
    # kazoo opens a new session by itself after an expiry; a write meant for the old
    # one (a version-checked delete of an ephemeral) must not go out on the new one.
    gateway = ZkGateway(zk_root, session_timeout_s=4)
    gateway.start()
    try:
        gateway.bind_session(gateway.session_id)
        gateway.create("/mine", b"", ephemeral=True)
        expire(gateway)

        with pytest.raises(ZkUnavailableError):
            gateway.create("/mine", b"", ephemeral=True)
        with pytest.raises(ZkUnavailableError):
            gateway.transaction([CreateOp("/mine", b"", ephemeral=True)])
        refused = gateway.create_many([("/mine", b"")], ephemeral=True)
        assert isinstance(refused["/mine"], ZkUnavailableError)
        assert gateway.exists("/mine") is None  # reads go on: they change nothing

        gateway.bind_session(gateway.session_id)
        gateway.create("/mine", b"", ephemeral=True)
        stat = gateway.exists("/mine")
        assert stat is not None and stat.ephemeral_owner == gateway.session_id
    finally:
        gateway.stop()


def test_a_request_to_a_frozen_server_fails_within_its_bound_and_the_session_survives(
    tmp_path: Path,
) -> None:
    server = StandaloneZooKeeper(tmp_path / "zk")
    server.start()
    states: list[ConnectionState] = []
    gateway = ZkGateway(server.connect, session_timeout_s=6, request_timeout_s=REQUEST_TIMEOUT_S)
    try:
        gateway.add_state_listener(states.append)
        gateway.start()
        session = gateway.session_id
        gateway.create("/mine", b"", ephemeral=True)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)  # a frozen server ticks not: nothing expires
        try:
            wait_until_frozen(server.pid)
            started = time.monotonic()
            with pytest.raises(ZkUnavailableError):
                gateway.get("/mine")
            took = time.monotonic() - started
            assert REQUEST_TIMEOUT_S * 0.9 <= took < REQUEST_TIMEOUT_S + REQUEST_ALLOWANCE_S
            wait_until(
                lambda: ConnectionState.SUSPENDED in states,
                NEW_SESSION_TIMEOUT_S,
                lambda: f"SUSPENDED, saw {states}",
            )
        finally:
            os.kill(server.pid, signal.SIGCONT)
        wait_until(
            lambda: states[-1] is ConnectionState.CONNECTED,
            NEW_SESSION_TIMEOUT_S,
            lambda: f"CONNECTED again, saw {states}",
        )
        assert ConnectionState.LOST not in states
        assert gateway.session_id == session
        stat = gateway.exists("/mine")
        assert stat is not None and stat.ephemeral_owner == session
    finally:
        gateway.stop()
        server.stop()
