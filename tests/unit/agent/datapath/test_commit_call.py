"""A commit call: retried with backoff, stale partitions not retried, failures returned."""

from __future__ import annotations

from collections.abc import Mapping

from turnout.agent.datapath.commit_call import COMMIT_ATTEMPTS, LeaseExpired, commit_points
from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores import Claim, StaleCommitError
from turnout.protocol.partitions import PartitionId

A, B = ("t", 0), ("t", 1)


def _claim(tp: PartitionId) -> Claim:
    return Claim("g", tp, f"/o/{tp[1]}", 0, 1, "me")


class Store:
    def __init__(self, script: list[dict[PartitionId, Exception]]) -> None:
        self.script = script
        self.calls: list[set[PartitionId]] = []

    def on_claim(self, claims: object) -> dict[PartitionId, object]:
        return {}

    def forget(self, tp: PartitionId) -> None: ...

    def commit(
        self, points: Mapping[PartitionId, tuple[Claim, CommitPoint]]
    ) -> dict[PartitionId, Exception]:
        self.calls.append(set(points))
        result = self.script.pop(0) if self.script else {}
        return {tp: e for tp, e in result.items() if tp in points}


POINTS = {A: (_claim(A), CommitPoint(5)), B: (_claim(B), CommitPoint(9))}


def test_a_transient_failure_is_retried_for_the_failed_partition_only() -> None:
    store = Store([{B: RuntimeError("coordinator moved")}])
    latencies: list[float] = []
    outcome = commit_points(
        store, POINTS, lease_valid=lambda: True, observe_latency=latencies.append
    )  # type: ignore[arg-type]
    assert outcome.committed == {A: CommitPoint(5), B: CommitPoint(9)}
    assert store.calls == [{A, B}, {B}]
    assert len(latencies) == 2 and not outcome.failed


def test_a_stale_partition_is_not_retried() -> None:
    store = Store([{A: StaleCommitError("not ours")}])
    outcome = commit_points(store, POINTS, lease_valid=lambda: True, observe_latency=lambda s: None)  # type: ignore[arg-type]
    assert set(outcome.stale) == {A} and outcome.committed == {B: CommitPoint(9)}
    assert store.calls == [{A, B}]


def test_a_persistent_failure_is_returned_after_every_attempt() -> None:
    store = Store([{A: RuntimeError("down")}] * COMMIT_ATTEMPTS)
    outcome = commit_points(store, POINTS, lease_valid=lambda: True, observe_latency=lambda s: None)  # type: ignore[arg-type]
    assert set(outcome.failed) == {A} and len(store.calls) == COMMIT_ATTEMPTS


def test_nothing_is_committed_once_the_lease_has_expired() -> None:
    store = Store([])
    outcome = commit_points(
        store, POINTS, lease_valid=lambda: False, observe_latency=lambda s: None
    )  # type: ignore[arg-type]
    assert store.calls == [] and not outcome.committed
    assert all(isinstance(e, LeaseExpired) for e in outcome.failed.values())


def test_a_commit_the_lease_ran_out_during_is_not_reported_as_done() -> None:
    # Frozen (SIGSTOP) with the request on its way: when the answer comes, the lease is
    # gone and a successor may own the partitions; the outcome cannot be vouched for.
    valid = iter([True, False])
    store = Store([])
    outcome = commit_points(
        store, POINTS, lease_valid=lambda: next(valid, False), observe_latency=lambda s: None
    )  # type: ignore[arg-type]
    assert store.calls == [{A, B}]  # sent once, never again
    assert not outcome.committed
    assert set(outcome.failed) == {A, B}
    assert all(isinstance(e, LeaseExpired) for e in outcome.failed.values())
