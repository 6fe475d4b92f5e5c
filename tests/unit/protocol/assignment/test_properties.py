"""Property tests of the assignment strategies (hypothesis)."""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.protocol import AbsentPinPolicy, Strategy
from turnout.protocol.assignment import AssignmentResult, compute_assignment, max_kept, moves
from turnout.protocol.partitions import PartitionId

#: Examples per property: enough to hit the edge cases (no members, P < C, absent pins)
#: every run while keeping the whole file within a few seconds on a shared 2-core box.
EXAMPLES = 120

NAMES = [f"i{n}" for n in range(8)]
TOPICS = ["alpha", "beta", "gamma"]

member_lists = st.lists(st.sampled_from(NAMES), max_size=6, unique=True)
partition_lists = st.lists(
    st.tuples(st.sampled_from(TOPICS), st.integers(min_value=0, max_value=15)),
    max_size=30,
    unique=True,
)
owner_maps = st.dictionaries(
    st.tuples(st.sampled_from(TOPICS), st.integers(min_value=0, max_value=15)),
    st.sampled_from(NAMES),
    max_size=30,
)


def _counts(result: AssignmentResult, members: list[str]) -> list[int]:
    counter = Counter(result.owners.values())
    return [counter[m] for m in members]


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    members=member_lists,
    partitions=partition_lists,
    previous=owner_maps,
    pins=owner_maps,
    policy=st.sampled_from(list(AbsentPinPolicy)),
    data=st.data(),
)
def test_same_inputs_in_any_order_give_the_same_assignment(
    strategy: Strategy,
    members: list[str],
    partitions: list[PartitionId],
    previous: dict[PartitionId, str],
    pins: dict[PartitionId, str],
    policy: AbsentPinPolicy,
    data: st.DataObject,
) -> None:
    first = compute_assignment(
        strategy, members, partitions, previous=previous, pins=pins, absent_pin_policy=policy
    )
    shuffled_members = data.draw(st.permutations(members))
    shuffled_partitions = data.draw(st.permutations(partitions))
    second = compute_assignment(
        strategy,
        shuffled_members,
        shuffled_partitions,
        previous=dict(reversed(list(previous.items()))),
        pins=dict(reversed(list(pins.items()))),
        absent_pin_policy=policy,
    )
    assert first == second
    assert list(first.owners.items()) == list(second.owners.items())


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    members=member_lists,
    partitions=partition_lists,
    previous=owner_maps,
    pins=owner_maps,
    policy=st.sampled_from(list(AbsentPinPolicy)),
)
def test_every_partition_is_owned_by_one_member_or_deliberately_unowned(
    strategy: Strategy,
    members: list[str],
    partitions: list[PartitionId],
    previous: dict[PartitionId, str],
    pins: dict[PartitionId, str],
    policy: AbsentPinPolicy,
) -> None:
    result = compute_assignment(
        strategy, members, partitions, previous=previous, pins=pins, absent_pin_policy=policy
    )
    assert set(result.owners) | set(result.unowned) == set(partitions)
    assert not set(result.owners) & set(result.unowned)
    assert len(result.unowned) == len(set(result.unowned))
    assert list(result.unowned) == sorted(result.unowned)
    assert set(result.owners.values()) <= set(members)
    if not members:
        assert not result.owners
    elif strategy is not Strategy.MANUAL or policy is AbsentPinPolicy.FALLBACK:
        assert not result.unowned


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    strategy=st.sampled_from([Strategy.ROUND_ROBIN, Strategy.STICKY]),
    members=member_lists.filter(bool),
    partitions=partition_lists,
    previous=owner_maps,
)
def test_round_robin_and_sticky_are_balanced_over_all_topics(
    strategy: Strategy,
    members: list[str],
    partitions: list[PartitionId],
    previous: dict[PartitionId, str],
) -> None:
    result = compute_assignment(strategy, members, partitions, previous=previous)
    counts = _counts(result, members)
    assert max(counts) - min(counts) <= 1


@settings(max_examples=EXAMPLES, deadline=None)
@given(members=member_lists.filter(bool), partitions=partition_lists)
def test_range_splits_each_topic_into_contiguous_runs_with_extras_first(
    members: list[str], partitions: list[PartitionId]
) -> None:
    result = compute_assignment(Strategy.RANGE, members, partitions)
    ordered_members = sorted(members)
    for topic in {t for t, _ in partitions}:
        numbers = sorted(p for t, p in partitions if t == topic)
        owners = [result.owners[(topic, p)] for p in numbers]
        # Contiguous runs in member order: the owner sequence never goes back.
        ranks = [ordered_members.index(o) for o in owners]
        assert ranks == sorted(ranks)
        base, extra = divmod(len(numbers), len(members))
        sizes = [owners.count(m) for m in ordered_members]
        assert sizes == [base + 1] * extra + [base] * (len(members) - extra)


@settings(max_examples=2 * EXAMPLES, deadline=None)
@given(members=member_lists.filter(bool), partitions=partition_lists, previous=owner_maps)
def test_sticky_moves_no_more_partitions_than_balance_forces(
    members: list[str], partitions: list[PartitionId], previous: dict[PartitionId, str]
) -> None:
    result = compute_assignment(Strategy.STICKY, members, partitions, previous=previous)
    relevant = {tp: owner for tp, owner in previous.items() if tp in set(partitions)}
    moved = moves(relevant, result.owners)
    held = Counter(owner for owner in relevant.values() if owner in members)
    lower_bound = len(partitions) - max_kept([held[m] for m in set(members)], len(partitions))
    assert len(moved) == lower_bound


def _brute_force_min_moves(
    members: list[str], partitions: list[PartitionId], previous: dict[PartitionId, str]
) -> int:
    base = len(partitions) // len(members)
    best = len(partitions)
    for choice in itertools.product(members, repeat=len(partitions)):
        counts = Counter(choice)
        if any(not base <= counts[m] <= base + 1 for m in members):
            continue
        moved = sum(1 for tp, m in zip(partitions, choice, strict=True) if previous.get(tp) != m)
        best = min(best, moved)
    return best


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    members=st.lists(st.sampled_from(NAMES[:4]), min_size=1, max_size=3, unique=True),
    partitions=st.lists(
        st.tuples(st.sampled_from(TOPICS[:2]), st.integers(min_value=0, max_value=3)),
        max_size=6,
        unique=True,
    ),
    previous=st.dictionaries(
        st.tuples(st.sampled_from(TOPICS[:2]), st.integers(min_value=0, max_value=3)),
        st.sampled_from(NAMES[:5]),
        max_size=6,
    ),
)
def test_sticky_matches_the_brute_force_optimum_on_small_cases(
    members: list[str], partitions: list[PartitionId], previous: dict[PartitionId, str]
) -> None:
    result = compute_assignment(Strategy.STICKY, members, partitions, previous=previous)
    moved = sum(1 for tp in partitions if previous.get(tp) != result.owners[tp])
    assert moved == _brute_force_min_moves(members, partitions, previous)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    members=member_lists.filter(bool),
    partitions=partition_lists.filter(bool),
    pins=owner_maps,
    policy=st.sampled_from(list(AbsentPinPolicy)),
)
def test_manual_pins_to_members_are_honoured_and_absent_pins_reported(
    members: list[str],
    partitions: list[PartitionId],
    pins: dict[PartitionId, str],
    policy: AbsentPinPolicy,
) -> None:
    result = compute_assignment(
        Strategy.MANUAL, members, partitions, pins=pins, absent_pin_policy=policy
    )
    for tp in partitions:
        pinned = pins.get(tp)
        if pinned in members:
            assert result.owners[tp] == pinned
        elif pinned is not None:
            assert (tp, pinned) in result.absent_pins
            assert (tp in result.unowned) == (policy is AbsentPinPolicy.LEAVE_UNOWNED)
    expected_absent = sorted(
        (tp, who) for tp, who in pins.items() if tp in set(partitions) and who not in members
    )
    assert list(result.absent_pins) == expected_absent


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    members=st.lists(st.sampled_from(NAMES), min_size=2, max_size=6, unique=True),
    partitions=partition_lists.filter(bool),
    pins=owner_maps,
    policy=st.sampled_from(list(AbsentPinPolicy)),
    data=st.data(),
)
def test_moving_one_pin_between_members_moves_exactly_that_partition(
    members: list[str],
    partitions: list[PartitionId],
    pins: dict[PartitionId, str],
    policy: AbsentPinPolicy,
    data: st.DataObject,
) -> None:
    tp = data.draw(st.sampled_from(partitions))
    source, target = data.draw(st.permutations(members))[:2]
    before_pins = {**pins, tp: source}
    after_pins = {**pins, tp: target}
    before = compute_assignment(
        Strategy.MANUAL, members, partitions, pins=before_pins, absent_pin_policy=policy
    )
    after = compute_assignment(
        Strategy.MANUAL, members, partitions, pins=after_pins, absent_pin_policy=policy
    )
    assert moves(before.owners, after.owners) == [(tp, source, target)]
