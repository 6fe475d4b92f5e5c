"""``Record``: built directly, or over a Kafka message whose fields are read on demand."""

from __future__ import annotations

from confluent_kafka import Message

from turnout.agent.dispatch import Record, records_from_messages


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
    record = Record.from_message(_message(7, [("h", b"1"), ("empty", None)]), "orders", 3, 7, 2)
    assert record == Record(
        "orders", 3, 7, b"k7", b"v7", (("h", b"1"), ("empty", None)), 1_700_000_000_007, 2
    )
    assert "value=b'v7'" in repr(record)


def test_a_message_without_headers_gives_an_empty_tuple() -> None:
    (record,) = records_from_messages([_message(4)], [4], "orders", 3, 1)
    assert record.headers == ()
    assert (record.offset, record.epoch, record.key) == (4, 1, b"k4")


def test_records_from_messages_keeps_order_and_offsets() -> None:
    messages = [_message(o) for o in (10, 11, 13)]
    records = records_from_messages(messages, [10, 11, 13], "orders", 3, 5)
    assert [(r.offset, r.value) for r in records] == [(10, b"v10"), (11, b"v11"), (13, b"v13")]
    assert {r.tp for r in records} == {("orders", 3)}
