from turnout.agent.records import Record
from turnout.mirror.copier import (
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    copy_of,
)


def _record(timestamp_ms: int = 1_700_000_000_123) -> Record:
    return Record("orders", 7, 42, b"k", b"v", (("trace", b"t1"), ("empty", None)), timestamp_ms, 3)


def test_a_copy_keeps_partition_key_value_headers_and_timestamp() -> None:
    copy = copy_of(_record(), coordinate_headers=False)
    assert copy.output == "orders"
    assert (copy.partition, copy.key, copy.value) == (7, b"k", b"v")
    assert copy.headers == [("trace", b"t1"), ("empty", None)]
    assert copy.timestamp_ms == 1_700_000_000_123


def test_coordinate_headers_follow_the_records_own() -> None:
    copy = copy_of(_record(), coordinate_headers=True)
    assert copy.headers == [
        ("trace", b"t1"),
        ("empty", None),
        (SOURCE_TOPIC_HEADER, "orders"),
        (SOURCE_PARTITION_HEADER, "7"),
        (SOURCE_OFFSET_HEADER, "42"),
    ]


def test_a_record_without_a_timestamp_is_stamped_when_written() -> None:
    assert copy_of(_record(timestamp_ms=-1), coordinate_headers=False).timestamp_ms == 0
