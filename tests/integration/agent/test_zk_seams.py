"""The agent's ZooKeeper seams against a real ZooKeeper: the ZooKeeper offset store's
fencing, the published-assignment agreement, snapshots and owner-node claims.

The gateway's own behaviour (errors, watches, transactions, sessions) is proven in
tests/integration/zk/test_gateway.py."""

from __future__ import annotations

import threading

import pytest

from turnout.agent.coordination.agreement import StaleView, View, agree
from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores import Claim, StaleCommitError, ZkOffsetStore
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role, Strategy
from turnout.zk import (
    ZkGateway,
    ZkNoNodeError,
)


def test_zookeeper_offsets_refuse_a_stale_owner_after_a_new_claim(zk: ZkGateway) -> None:
    paths = DeploymentPaths("/turnout", "dep")
    owner = paths.owner("g", "t", 0)
    zk.create(owner, b"{}", ephemeral=True, makepath=True)
    old_store, new_store = ZkOffsetStore(zk, paths), ZkOffsetStore(zk, paths)
    old = Claim("g", ("t", 0), owner, 0, 1, "old")
    assert old_store.on_claim([old]) == {("t", 0): None}
    assert old_store.commit({("t", 0): (old, CommitPoint(10))}) == {}
    new = Claim("g", ("t", 0), owner, 0, 2, "new")
    committed = new_store.on_claim([new])[("t", 0)]
    assert committed is not None and committed.next_offset == 10
    assert committed.metadata is not None and committed.metadata.instance == "old"
    failed = old_store.commit({("t", 0): (old, CommitPoint(20))})
    assert isinstance(failed[("t", 0)], StaleCommitError)
    assert new_store.commit({("t", 0): (new, CommitPoint(15, (17,)))}) == {}
    zk.delete(owner)
    gone = new_store.commit({("t", 0): (new, CommitPoint(16))})
    assert isinstance(gone[("t", 0)], StaleCommitError)  # no owner node, no commit


def _view(members: tuple[str, ...], version: int, epoch: int = 1) -> View:
    directive = Directive.model_validate(
        {
            "epoch": epoch,
            "deployment": "dep",
            "live": Binding(group="g", topics=("t",)),
            "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
            "strategy": Strategy.STICKY,
        }
    )
    return View(directive, Colour.BLUE, "g", members, version, {"t": 6}, True)


def test_agents_with_the_same_view_adopt_one_published_assignment(zk: ZkGateway) -> None:
    path = "/turnout/deployments/dep/assignments/g"
    first = agree(zk, path, _view(("a", "b"), 2), "a")
    second = agree(zk, path, _view(("a", "b"), 2), "b")
    assert first is not None and second is not None
    assert first.owners == second.owners and second.written_by == "a"


def test_sticky_moves_only_what_it_must_from_the_published_previous(zk: ZkGateway) -> None:
    path = "/turnout/deployments/dep/assignments/g"
    before = agree(zk, path, _view(("a", "b"), 2), "a")
    after = agree(zk, path, _view(("a", "b", "c"), 3), "c")
    assert before is not None and after is not None
    moved = [k for k in before.owners if before.owners[k] != after.owners[k]]
    assert len(moved) == 2 and all(after.owners[k] == "c" for k in moved)


def test_an_agent_with_an_older_view_is_told_to_re_read(zk: ZkGateway) -> None:
    path = "/turnout/deployments/dep/assignments/g"
    agree(zk, path, _view(("a", "b", "c"), 3), "c")
    with pytest.raises(StaleView):
        agree(zk, path, _view(("a", "b"), 2), "a")
    with pytest.raises(ZkNoNodeError):
        zk.get("/turnout/deployments/dep/assignments/other")


def test_zookeeper_offsets_resync_after_a_commit_with_an_unknown_outcome(zk: ZkGateway) -> None:
    paths = DeploymentPaths("/turnout", "dep")
    owner = paths.owner("g", "t", 1)
    zk.create(owner, b"{}", ephemeral=True, makepath=True)
    store = ZkOffsetStore(zk, paths)
    claim = Claim("g", ("t", 1), owner, 0, 3, "me")
    store.on_claim([claim])
    assert store.commit({("t", 1): (claim, CommitPoint(7))}) == {}
    store._versions.pop(("t", 1))  # what a ZkUnavailableError mid-commit leaves behind
    assert store.commit({("t", 1): (claim, CommitPoint(9))}) == {}
    other = ZkOffsetStore(zk, paths)
    other.on_claim([Claim("g", ("t", 1), owner, 0, 4, "successor")])
    store._versions.pop(("t", 1))
    failed = store.commit({("t", 1): (claim, CommitPoint(11))})
    assert isinstance(failed[("t", 1)], StaleCommitError)
    never = Claim("g", ("t", 9), owner, 0, 3, "me")
    assert isinstance(store.commit({("t", 9): (never, CommitPoint(1))})[("t", 9)], StaleCommitError)


def test_a_snapshot_rereads_registrations_only_when_instances_changed(zk: ZkGateway) -> None:
    from turnout.agent.coordination.deployment_read import read_deployment
    from turnout.protocol import InstanceRegistration
    from turnout.protocol.models import utc_now

    paths = DeploymentPaths("/turnout", "d")

    def register(name: str, colour: Colour) -> None:
        registration = InstanceRegistration(
            instance=name,
            colour=colour,
            version="1",
            host="h",
            pid=1,
            started_at=utc_now(),
            session_id=zk.session_id,
        )
        zk.create(paths.instance(name), registration.to_bytes(), ephemeral=True, makepath=True)

    register("b-0", Colour.BLUE)
    first = read_deployment(zk, paths, lambda _event: None)
    again = read_deployment(zk, paths, lambda _event: None, first)
    assert again.registrations == first.registrations == (("b-0", Colour.BLUE),)
    assert again.members_zxid == first.members_zxid
    # The same name re-registered with another colour is a delete and a create: seen.
    zk.delete(paths.instance("b-0"))
    register("b-0", Colour.GREEN)
    changed = read_deployment(zk, paths, lambda _event: None, again)
    assert changed.registrations == (("b-0", Colour.GREEN),)
    assert changed.members_zxid > first.members_zxid


def test_owner_nodes_are_claimed_and_released_in_one_multi_when_all_are_free(
    zk: ZkGateway,
) -> None:
    from turnout.agent.ephemerals import OwnerNode, create_owners, delete_owner_nodes

    zk.ensure_path("/owners/t")
    nodes = [(f"/owners/t/{p}", b"me") for p in range(4)]
    outcomes = create_owners(zk, nodes, set(), lambda _event: None)
    assert outcomes == {path: OwnerNode(path, 0) for path, _ in nodes}
    deleted = delete_owner_nodes(zk, [(path, 0) for path, _ in nodes])
    assert deleted == {path: None for path, _ in nodes}
    assert zk.children("/owners/t") == []


def test_a_claim_skips_held_nodes_and_their_deletion_fires_the_watch(zk: ZkGateway) -> None:
    from turnout.agent.ephemerals import OwnerNode, create_owners, delete_owner_nodes

    other = ZkGateway(zk.hosts)
    other.start()
    try:
        other.create("/owners/t/1", b"theirs", ephemeral=True, makepath=True)
        fired = threading.Event()
        nodes = [(f"/owners/t/{p}", b"me") for p in range(3)]
        outcomes = create_owners(zk, nodes, set(), lambda _event: fired.set())
        assert outcomes["/owners/t/0"] == OwnerNode("/owners/t/0", 0)
        assert outcomes["/owners/t/2"] == OwnerNode("/owners/t/2", 0)
        assert outcomes["/owners/t/1"] == "busy"
        assert zk.get("/owners/t/1")[0] == b"theirs"
        # A release whose multi fails (one node changed under us) still deletes the others.
        other.set("/owners/t/1", b"theirs, again")
        deleted = delete_owner_nodes(zk, [("/owners/t/0", 0), ("/owners/t/1", 0)])
        assert deleted["/owners/t/0"] is None
        assert deleted["/owners/t/1"] is not None
        assert fired.wait(5)  # our delete changed the children: the one-shot watch fired
        fired.clear()
        # The retry that event causes finds the node still held and watches again.
        again = create_owners(zk, [("/owners/t/1", b"me")], set(), lambda _event: fired.set())
        assert again == {"/owners/t/1": "busy"}
        other.delete("/owners/t/1")
        assert fired.wait(5)
        assert create_owners(zk, [("/owners/t/1", b"me")], set(), print) == {
            "/owners/t/1": OwnerNode("/owners/t/1", 0)
        }
    finally:
        other.stop()


def test_a_claim_deletes_leftovers_of_an_earlier_session_and_retries(zk: ZkGateway) -> None:
    from turnout.agent.ephemerals import create_owners

    old = ZkGateway(zk.hosts)
    old.start()
    try:
        old.create("/owners/t/0", b"old me", ephemeral=True, makepath=True)
        outcomes = create_owners(zk, [("/owners/t/0", b"me")], {old.session_id}, print)
        assert outcomes == {"/owners/t/0": "retry"}
        assert zk.exists("/owners/t/0") is None
    finally:
        old.stop()
