"""The processors benchmark's judgement of an output topic (bench/processors_verify.py),
its transform (bench/processors_data.py) and when a switch is done (bench/processors_switch.py),
on hand-made outputs."""

from __future__ import annotations

import json

from bench.processors_data import ADDED_FIELD, PARTITIONS, input_value, key_of, transform
from bench.processors_switch import switched_at
from bench.processors_verify import Output, judge, parse_output


def _out(record_id: int, partition: int = 0, by: str = "blue") -> Output:
    return Output(partition, key_of(record_id), record_id, by)


def test_every_input_once_in_key_order_is_exact() -> None:
    report = judge(4, [_out(0), _out(1), _out(2), _out(3)])
    assert report.exact
    assert (report.outputs, report.distinct, report.lost, report.duplicates) == (4, 4, 0, 0)
    assert report.by_producer == {"blue": 4}


def test_missing_inputs_count_as_lost_with_examples() -> None:
    report = judge(5, [_out(0), _out(3)])
    assert report.lost == 3
    assert report.lost_examples == [1, 2, 4]
    assert not report.exact


def test_every_copy_beyond_the_first_counts_as_a_duplicate() -> None:
    report = judge(3, [_out(0), _out(1), _out(1, by="green"), _out(1, by="green"), _out(2)])
    assert report.duplicates == 2
    assert report.duplicate_examples == [1]
    assert report.lost == 0
    assert report.by_producer == {"blue": 3, "green": 2}


def test_an_output_before_an_earlier_input_of_its_key_is_out_of_order() -> None:
    # Ids 4096 and 0 share a key (KEYS = 4096); 1 has a key of its own.
    report = judge(4097, [*(_out(i) for i in range(1, 4096)), _out(4096), _out(0)])
    assert report.out_of_order == 1
    assert report.lost == 0


def test_an_id_that_was_never_an_input_is_unexpected() -> None:
    report = judge(2, [_out(0), _out(1), _out(7)])
    assert report.unexpected == 1
    assert not report.exact


def test_the_transform_adds_the_field_and_keeps_the_rest() -> None:
    value = transform(input_value(12), "green")
    assert json.loads(value) == {**json.loads(input_value(12)), ADDED_FIELD: "green"}
    assert parse_output(3, value) == Output(3, key_of(12), 12, "green")


def test_a_switch_is_done_when_every_partition_turned_the_new_colour() -> None:
    blue = dict.fromkeys(range(PARTITIONS), "blue")
    changes = [(100, p, "blue") for p in range(PARTITIONS)]
    changes += [(1_000 + p, p, "green") for p in range(PARTITIONS - 1)]
    current = {**blue, **dict.fromkeys(range(PARTITIONS - 1), "green")}
    assert switched_at(changes, current, "green", since_ns=500) is None
    changes.append((2_000, PARTITIONS - 1, "green"))
    current[PARTITIONS - 1] = "green"
    assert switched_at(changes, current, "green", since_ns=500) == 2_000


def test_a_change_before_the_switch_started_does_not_count_as_the_switch() -> None:
    changes = [(100, p, "green") for p in range(PARTITIONS)]
    changes += [(200, 0, "blue")]
    current = dict.fromkeys(range(PARTITIONS), "green") | {0: "blue"}
    assert switched_at(changes, current, "green", since_ns=300) is None
    # Partitions already green when it started count from its start.
    changes.append((400, 0, "green"))
    current[0] = "green"
    assert switched_at(changes, current, "green", since_ns=300) == 400
