"""``Record``: built directly, or over a Kafka message whose fields are read on demand."""

from __future__ import annotations

import pytest
from confluent_kafka import Message

from turnout.agent.records import Record, RecordRun, records_from_messages


def _message(offset: int, headers: list[tuple[str, bytes | None]] | None = None) -> Message:
    return Message(
        topic="orders",
        partition=3,
        offset=offset,
        key=b"k%d" % offset,
        value=b"v%d" % offset,
        headers=headers,
        timestamp=(1, 1_700_000_000_000 + offset),
    )


def test_a_record_built_by_keyword_or_position_has_the_fields_given() -> None:
    by_keyword = Record(
        topic="orders",
        partition=3,
        offset=7,
        key=b"k7",
        value=b"v7",
        headers=(("h", b"1"),),
        timestamp_ms=1_700_000_000_007,
        epoch=2,
    )
    by_position = Record("orders", 3, 7, b"k7", b"v7", (("h", b"1"),), 1_700_000_000_007, 2)
    assert by_keyword == by_position
    assert hash(by_keyword) == hash(by_position)
    assert (by_keyword.tp, by_keyword.key, by_keyword.value) == (("orders", 3), b"k7", b"v7")
    assert by_keyword.headers == (("h", b"1"),)
    assert by_keyword.timestamp_ms == 1_700_000_000_007
    assert by_keyword != Record("orders", 3, 7, b"k7", b"other", (), 1_700_000_000_007, 2)


def test_a_record_over_a_message_reads_its_fields_from_the_message_and_equals_a_built_one() -> None:
    record = Record.from_message(_message(7, [("h", b"1"), ("empty", None)]), "orders", 3, 2)
    assert record == Record(
        "orders", 3, 7, b"k7", b"v7", (("h", b"1"), ("empty", None)), 1_700_000_000_007, 2
    )
    assert "value=b'v7'" in repr(record)


def test_a_message_without_headers_gives_an_empty_tuple() -> None:
    (record,) = records_from_messages([_message(4)], "orders", 3, 1)
    assert record.headers == ()
    assert (record.offset, record.epoch, record.key) == (4, 1, b"k4")


def test_records_from_messages_keeps_order_and_offsets() -> None:
    messages = [_message(o) for o in (10, 11, 13)]
    records = records_from_messages(messages, "orders", 3, 5)
    assert [(r.offset, r.value) for r in records] == [(10, b"v10"), (11, b"v11"), (13, b"v13")]
    assert {r.tp for r in records} == {("orders", 3)}


def _run(offsets: list[int], partition: int = 3, epoch: int = 5) -> RecordRun:
    messages = [_message(offset) for offset in offsets]
    return RecordRun(messages, offsets, "orders", partition, epoch)


def test_a_run_builds_its_records_only_when_one_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []

    def counting(messages: list[Message], *args: object) -> list[Record]:
        built.append(len(messages))
        return records_from_messages(messages, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("turnout.agent.records.records_from_messages", counting)
    run = _run([10, 11, 13])
    assert (len(run), run.offsets, run.tp, run.epoch) == (3, [10, 11, 13], ("orders", 3), 5)
    assert run[1:].offsets == [11, 13]
    assert built == []  # length, offsets and slices need no record
    assert run[-1].offset == 13 and run[-1].value == b"v13"
    assert run[0] is run[0]  # built once, all together
    assert built == [3]


def test_a_slice_of_a_run_is_a_view_on_the_same_records() -> None:
    run = _run([10, 11, 12, 13, 14])
    middle = run[1:4]
    assert [r.offset for r in middle] == [11, 12, 13]
    assert middle[0] is run[1]
    assert middle[1:][0] is run[2]
    assert run[4:2] == [] and len(run[9:]) == 0
    with pytest.raises(IndexError):
        middle[3]
    with pytest.raises(ValueError, match="no step"):
        run[::2]


def test_a_run_equals_the_list_of_its_records() -> None:
    run = _run([4, 5])
    assert run == list(run) and list(run) == run
    assert run == records_from_messages([_message(4), _message(5)], "orders", 3, 5)
    assert run != _run([4, 6])
    assert "offsets 4..5" in repr(run)


def test_joining_runs_keeps_order_and_rejects_another_partition() -> None:
    run = _run([1, 2, 3, 4])
    assert RecordRun.join([run[:2], run[2:]]) == run  # adjacent views stay one view
    later = _run([7, 9])
    joined = RecordRun.join([run[2:], later])
    assert joined.offsets == [3, 4, 7, 9] and [r.offset for r in joined] == [3, 4, 7, 9]
    with pytest.raises(ValueError, match="cannot join"):
        RecordRun.join([run, _run([8], partition=4)])


def test_runs_of_two_fetches_joined_without_a_gap_are_one_consecutive_run() -> None:
    joined = RecordRun.join([_run([3, 4]), _run([5, 6])])
    assert joined.consecutive_from == 3
    assert [r.offset for r in joined] == [3, 4, 5, 6]
    assert RecordRun.join([_run([3, 4]), _run([6])]).consecutive_from is None


def test_a_run_refuses_offsets_that_do_not_match_its_messages() -> None:
    with pytest.raises(ValueError, match="2 messages but 1 offsets"):
        RecordRun([_message(1), _message(2)], [1], "orders", 3, 1)
