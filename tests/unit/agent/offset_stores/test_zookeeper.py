"""The ZooKeeper offset store over the in-memory ZooKeeper: commits after an unknown
outcome (found by the model-based test, tests/unit/agent/coordination/test_agent_model.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.support.fake_zookeeper import FakeGateway, FakeZooKeeper
from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores import Claim, StaleCommitError, ZkOffsetStore
from turnout.protocol import DeploymentPaths, ZkOffset
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkUnavailableError

PATHS = DeploymentPaths("/turnout", "billing")
TP0: PartitionId = ("alpha", 0)


@pytest.fixture
def zk() -> FakeGateway:
    gateway = FakeZooKeeper(lambda: 1000.0, session_timeout_s=4.0).client()
    gateway.start()
    return gateway


def _claimed(zk: FakeGateway, store: ZkOffsetStore, instance: str, epoch: int) -> Claim:
    owner = PATHS.owner("billing", *TP0)
    if zk.exists(owner) is None:
        zk.create(owner, b"{}", ephemeral=True, makepath=True)
    stat = zk.exists(owner)
    assert stat is not None
    claim = Claim("billing", TP0, owner, stat.version, epoch, instance)
    store.on_claim([claim])
    return claim


def _commit_whose_outcome_is_unknown(zk: FakeGateway, store: ZkOffsetStore, claim: Claim) -> None:
    zk.interrupt(1, lambda: zk.disconnect(1000.0))
    failed = store.commit({TP0: (claim, CommitPoint(7))})
    assert isinstance(failed[TP0], ZkUnavailableError)
    zk.reconnect()


def test_a_commit_after_an_unknown_outcome_and_a_restamp_is_still_ours(zk: FakeGateway) -> None:
    # Claimed at epoch 1, kept across a new directive (the owner node re-stamped with
    # epoch 2), then a commit whose outcome is unknown: the offset node still says
    # epoch 1, which is this very claim's, not somebody else's.
    store = ZkOffsetStore(zk, PATHS)
    claim = _claimed(zk, store, "blue-1", epoch=1)
    assert store.commit({TP0: (claim, CommitPoint(3))}) == {}
    stat = zk.set(claim.owner_path, b"{}", version=claim.owner_version)
    restamped = replace(claim, owner_version=stat.version, epoch=2)
    _commit_whose_outcome_is_unknown(zk, store, restamped)

    assert store.commit({TP0: (restamped, CommitPoint(7))}) == {}
    data, _ = zk.get(PATHS.offset("billing", *TP0))
    assert ZkOffset.from_bytes(data).offset == 7


def test_a_commit_after_an_unknown_outcome_is_refused_once_another_claimed(
    zk: FakeGateway,
) -> None:
    store = ZkOffsetStore(zk, PATHS)
    claim = _claimed(zk, store, "blue-1", epoch=1)
    _commit_whose_outcome_is_unknown(zk, store, claim)
    _claimed(zk, ZkOffsetStore(zk, PATHS), "blue-2", epoch=1)  # the successor's claim

    failed = store.commit({TP0: (claim, CommitPoint(7))})
    assert isinstance(failed[TP0], StaleCommitError)
    data, _ = zk.get(PATHS.offset("billing", *TP0))
    assert ZkOffset.from_bytes(data).claimed_by == "blue-2"


def _claims(
    zk: FakeGateway, store: ZkOffsetStore, instance: str, tps: list[PartitionId]
) -> list[Claim]:
    claims = []
    for tp in tps:
        owner = PATHS.owner("billing", *tp)
        zk.create(owner, b"{}", ephemeral=True, makepath=True)
        claims.append(Claim("billing", tp, owner, 0, 1, instance))
    store.on_claim(claims)
    return claims


def _offset(zk: FakeGateway, tp: PartitionId) -> ZkOffset:
    return ZkOffset.from_bytes(zk.get(PATHS.offset("billing", *tp))[0])


def test_a_batch_commits_the_partitions_still_ours_and_refuses_only_the_one_taken(
    zk: FakeGateway,
) -> None:
    tps: list[PartitionId] = [("alpha", 0), ("alpha", 1), ("alpha", 2)]
    store = ZkOffsetStore(zk, PATHS)
    claims = _claims(zk, store, "blue-1", tps)
    assert store.commit({c.tp: (c, CommitPoint(5)) for c in claims}) == {}
    assert [_offset(zk, tp).offset for tp in tps] == [5, 5, 5]
    # Another instance claims alpha/1 (a stale view of ours): its stamp bumps the node.
    ZkOffsetStore(zk, PATHS).on_claim([replace(claims[1], instance="green-1", epoch=2)])

    failed = store.commit({c.tp: (c, CommitPoint(9)) for c in claims})
    assert set(failed) == {tps[1]}
    assert isinstance(failed[tps[1]], StaleCommitError)
    assert [_offset(zk, tp).offset for tp in tps] == [9, 5, 9]


def test_a_claim_of_nodes_old_and_new_returns_what_each_held_and_stamps_all(
    zk: FakeGateway,
) -> None:
    tps: list[PartitionId] = [("alpha", 0), ("alpha", 1)]
    first = ZkOffsetStore(zk, PATHS)
    claims = _claims(zk, first, "blue-1", tps[:1])
    assert first.commit({claims[0].tp: (claims[0], CommitPoint(4))}) == {}

    successor = ZkOffsetStore(zk, PATHS)
    zk.create(PATHS.owner("billing", *tps[1]), b"{}", ephemeral=True)
    taken = [Claim("billing", tp, PATHS.owner("billing", *tp), 0, 2, "green-1") for tp in tps]
    found = successor.on_claim(taken)
    held = found[tps[0]]
    assert held is not None and held.next_offset == 4
    assert found[tps[1]] is None
    assert [(_offset(zk, tp).claimed_by, _offset(zk, tp).epoch) for tp in tps] == [
        ("green-1", 2),
        ("green-1", 2),
    ]
    # The stamps' versions are known: the successor commits both without a re-read.
    assert first.commit({claims[0].tp: (claims[0], CommitPoint(6))}) != {}
    assert successor.commit({c.tp: (c, CommitPoint(8)) for c in taken}) == {}
    assert [_offset(zk, tp).offset for tp in tps] == [8, 8]


def _requests_made(zk: FakeGateway, call: Callable[[], object]) -> int:
    """How many requests ``call`` sent (counted by arming an interruption at each)."""
    made = 0
    reached: list[int] = []
    while True:
        zk.interrupt(made + 1, functools.partial(reached.append, made + 1))
        call()
        zk.disarm()
        if made + 1 not in reached:
            return made
        made += 1


def test_a_commit_and_a_claim_after_a_handover_take_one_request_each_for_all_partitions(
    zk: FakeGateway,
) -> None:
    tps: list[PartitionId] = [("alpha", p) for p in range(4)]
    store = ZkOffsetStore(zk, PATHS)
    claims = _claims(zk, store, "blue-1", tps)
    offset = iter(range(10, 100))
    assert (
        _requests_made(
            zk, lambda: store.commit({c.tp: (c, CommitPoint(next(offset))) for c in claims})
        )
        == 1
    )
    successor = ZkOffsetStore(zk, PATHS)
    taken = [replace(c, instance="green-1", epoch=2) for c in claims]
    # Reading every node is one request, stamping them all one more.
    assert _requests_made(zk, lambda: successor.on_claim(taken)) == 2
