from __future__ import annotations

from turnout.controlplane.domain.lag_status import (
    LagStatus,
    PartitionSample,
    deployment_status,
    partition_status,
)


def hist(*points: tuple[int, int | None, bool]) -> list[PartitionSample]:
    return [PartitionSample(lag=lag, committed=c, owned=owned) for lag, c, owned in points]


def test_committing_with_steady_or_falling_lag_is_ok() -> None:
    assert partition_status(hist((5, 10, True), (5, 20, True), (2, 30, True))) is LagStatus.OK


def test_lag_growing_across_the_window_while_committing_warns() -> None:
    assert partition_status(hist((5, 10, True), (8, 20, True), (12, 30, True))) is LagStatus.WARN


def test_lag_that_dips_once_is_not_growing() -> None:
    assert partition_status(hist((5, 10, True), (3, 20, True), (12, 30, True))) is LagStatus.OK


def test_offsets_not_moving_with_lag_and_an_owner_is_a_stall() -> None:
    assert partition_status(hist((5, 10, True), (7, 10, True), (9, 10, True))) is LagStatus.STALL


def test_no_commits_and_no_owner_is_stop() -> None:
    assert partition_status(hist((5, 10, False), (7, 10, False))) is LagStatus.STOP


def test_idle_partition_without_lag_is_ok_even_without_commits() -> None:
    assert partition_status(hist((0, 10, True), (0, 10, True))) is LagStatus.OK
    assert partition_status(hist((0, 10, False), (0, 10, False))) is LagStatus.OK


def test_single_sample_only_flags_an_unowned_lagging_partition() -> None:
    assert partition_status(hist((3, 1, True))) is LagStatus.OK
    assert partition_status(hist((3, 1, False))) is LagStatus.STOP
    assert partition_status([]) is LagStatus.OK


def test_deployment_status_is_the_worst_partition() -> None:
    ok = PartitionSample(lag=0, committed=1, owned=True)
    samples = [
        {"t/0": ok, "t/1": PartitionSample(lag=4, committed=7, owned=True)},
        {"t/0": ok, "t/1": PartitionSample(lag=6, committed=7, owned=True)},
    ]
    assert deployment_status(samples) is LagStatus.STALL
    assert deployment_status([]) is LagStatus.OK
