"""The ZooKeeper offset store over the in-memory ZooKeeper: commits after an unknown
outcome (found by the model-based test, tests/unit/agent/coordination/test_agent_model.py)."""

from __future__ import annotations

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
