"""How the consume loop cuts a poll into runs of a partition, and what a run holds."""

from __future__ import annotations

from itertools import pairwise

from confluent_kafka import Message
from hypothesis import given
from hypothesis import strategies as st

from turnout.agent.datapath.routing import partition_runs, run_from

TOPIC = "orders"


def _messages(pairs: list[tuple[int, int]]) -> list[Message]:
    return [Message(topic=TOPIC, partition=p, offset=o, value=b"v%d" % o) for p, o in pairs]


def _cut(messages: list[Message]) -> list[tuple[int, list[int]]]:
    return [(p, [m.offset() for m in run]) for p, run in partition_runs(messages)]


def test_a_poll_of_one_partition_is_one_run_without_a_copy() -> None:
    messages = _messages([(2, o) for o in range(5)])
    ((partition, run),) = partition_runs(messages)
    assert partition == 2 and run is messages


def test_a_partition_that_comes_back_later_in_the_poll_is_a_run_of_its_own() -> None:
    messages = _messages([(0, 10), (0, 11), (1, 5), (0, 12), (0, 13), (1, 6)])
    assert _cut(messages) == [(0, [10, 11]), (1, [5]), (0, [12, 13]), (1, [6])]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=12))
def test_runs_cover_the_poll_in_order_each_of_one_partition(blocks: list[tuple[int, int]]) -> None:
    pairs = [(p, i) for i, (p, size) in enumerate(blocks) for _ in range(size)]
    messages = _messages(pairs)
    runs = list(partition_runs(messages))
    assert [m for _, run in runs for m in run] == messages
    assert all(m.partition() == p for p, run in runs for m in run)
    assert all(a[0] != b[0] for a, b in pairwise(runs))


def test_a_consecutive_run_keeps_no_offset_list_until_asked() -> None:
    run = run_from(_messages([(3, o) for o in (7, 8, 9)]), 0, (TOPIC, 3), 4)
    assert run is not None
    assert run.consecutive_from == 7 and run.offsets == [7, 8, 9]
    assert (run.tp, run.epoch, [r.offset for r in run]) == ((TOPIC, 3), 4, [7, 8, 9])
    assert run[1:].consecutive_from == 8 and run[1:].offsets == [8, 9]


def test_a_run_with_gaps_keeps_its_offsets() -> None:
    run = run_from(_messages([(3, o) for o in (7, 9, 10)]), 0, (TOPIC, 3), 1)
    assert run is not None
    assert run.consecutive_from is None and run.offsets == [7, 9, 10]
    assert [r.offset for r in run[1:]] == [9, 10]


def test_records_fetched_again_after_a_seek_are_cut_off() -> None:
    consecutive = run_from(_messages([(3, o) for o in range(5, 10)]), 8, (TOPIC, 3), 1)
    assert consecutive is not None and consecutive.offsets == [8, 9]
    gapped = run_from(_messages([(3, o) for o in (5, 7, 9)]), 6, (TOPIC, 3), 1)
    assert gapped is not None and gapped.offsets == [7, 9]
    assert run_from(_messages([(3, 4), (3, 5)]), 6, (TOPIC, 3), 1) is None
