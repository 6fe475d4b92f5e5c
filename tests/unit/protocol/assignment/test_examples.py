"""Worked examples of each strategy, checkable by hand."""

from __future__ import annotations

import pytest

from turnout.protocol import AbsentPinPolicy, Strategy
from turnout.protocol.assignment import Move, compute_assignment, moves, parse_pins
from turnout.protocol.partitions import PartitionId


def _tps(topic: str, count: int) -> list[PartitionId]:
    return [(topic, p) for p in range(count)]


def test_range_gives_the_first_members_the_extra_partition_of_each_topic() -> None:
    result = compute_assignment(Strategy.RANGE, ["c1", "c0"], _tps("t0", 3) + _tps("t1", 3))
    assert result.partitions_of("c0") == [("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)]
    assert result.partitions_of("c1") == [("t0", 2), ("t1", 2)]


def test_range_orders_partitions_numerically_not_as_text() -> None:
    result = compute_assignment(Strategy.RANGE, ["a", "b"], _tps("t", 12))
    assert result.partitions_of("a") == [("t", p) for p in range(6)]


def test_round_robin_deals_sorted_topic_partitions_in_a_circle() -> None:
    result = compute_assignment(Strategy.ROUND_ROBIN, ["c1", "c0"], _tps("t0", 3) + _tps("t1", 3))
    assert result.partitions_of("c0") == [("t0", 0), ("t0", 2), ("t1", 1)]
    assert result.partitions_of("c1") == [("t0", 1), ("t1", 0), ("t1", 2)]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_no_members_leaves_everything_unowned(strategy: Strategy) -> None:
    result = compute_assignment(strategy, [], _tps("t", 3), pins={("t", 1): "gone"})
    assert result.owners == {}
    assert result.unowned == (("t", 0), ("t", 1), ("t", 2))


def test_sticky_keeps_a_balanced_assignment_unchanged() -> None:
    previous = {("t", p): ["b", "c", "a"][p % 3] for p in range(9)}
    result = compute_assignment(Strategy.STICKY, ["a", "b", "c"], _tps("t", 9), previous=previous)
    assert result.owners == previous


def test_sticky_moves_only_the_leavers_partitions_when_a_member_leaves() -> None:
    members = ["a", "b", "c"]
    first = compute_assignment(Strategy.STICKY, members, _tps("t", 6))
    second = compute_assignment(Strategy.STICKY, ["a", "b"], _tps("t", 6), previous=first.owners)
    moved = moves(first.owners, second.owners)
    assert [m.previous_owner for m in moved] == ["c", "c"]
    assert sorted(len(second.partitions_of(m)) for m in ["a", "b"]) == [3, 3]


def test_sticky_gives_a_joiner_only_its_share() -> None:
    first = compute_assignment(Strategy.STICKY, ["a", "b"], _tps("t", 8))
    second = compute_assignment(
        Strategy.STICKY, ["a", "b", "c", "d"], _tps("t", 8), previous=first.owners
    )
    moved = moves(first.owners, second.owners)
    assert len(moved) == 4
    assert {m.new_owner for m in moved} == {"c", "d"}


def test_manual_balances_the_rest_by_range_ignoring_pins() -> None:
    pins = {("t", 0): "a", ("t", 1): "a"}
    result = compute_assignment(Strategy.MANUAL, ["a", "b"], _tps("t", 6), pins=pins)
    # The four unpinned partitions split 2/2 by range, whatever the pins carry.
    assert result.partitions_of("a") == [("t", 0), ("t", 1), ("t", 2), ("t", 3)]
    assert result.partitions_of("b") == [("t", 4), ("t", 5)]


def test_manual_pin_to_absent_instance_is_left_unowned_and_reported() -> None:
    pins = {("t", 2): "gone"}
    result = compute_assignment(Strategy.MANUAL, ["a"], _tps("t", 3), pins=pins)
    assert result.unowned == (("t", 2),)
    assert result.absent_pins == ((("t", 2), "gone"),)
    assert result.owners == {("t", 0): "a", ("t", 1): "a"}


def test_manual_pin_to_absent_instance_falls_back_to_range_when_asked() -> None:
    pins = {("t", 2): "gone"}
    result = compute_assignment(
        Strategy.MANUAL,
        ["a", "b"],
        _tps("t", 3),
        pins=pins,
        absent_pin_policy=AbsentPinPolicy.FALLBACK,
    )
    assert result.unowned == ()
    assert result.absent_pins == ((("t", 2), "gone"),)
    assert result.owners == {("t", 0): "a", ("t", 1): "a", ("t", 2): "b"}


def test_pins_and_previous_are_ignored_by_the_other_strategies() -> None:
    plain = compute_assignment(Strategy.RANGE, ["a", "b"], _tps("t", 4))
    with_extras = compute_assignment(
        Strategy.RANGE,
        ["a", "b"],
        _tps("t", 4),
        pins={("t", 0): "b"},
        previous={("t", 0): "b"},
    )
    assert plain == with_extras


def test_moves_lists_partitions_that_change_hands_or_appear_or_vanish() -> None:
    before = {("t", 0): "a", ("t", 1): "a", ("t", 2): "b"}
    after = {("t", 0): "a", ("t", 1): "b", ("t", 3): "b"}
    assert moves(before, after) == [
        Move(("t", 1), "a", "b"),
        Move(("t", 2), "b", None),
        Move(("t", 3), None, "b"),
    ]


def test_directive_pins_parse_into_partition_tuples() -> None:
    assert parse_pins({"orders.v2/10": "a", "t/0": "b"}) == {("orders.v2", 10): "a", ("t", 0): "b"}
    with pytest.raises(ValueError, match="must look like"):
        parse_pins({"no-partition": "a"})
