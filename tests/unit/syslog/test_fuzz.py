"""Property-based fuzzing (hypothesis): no exception escapes the framer, the parser or the
encoders, and every byte fed is in a message or counted (framing, dropped)."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.syslog.formats import counted_parse, json_values
from turnout.syslog.framing import Framer
from turnout.syslog.logline import LogLineEncoder
from turnout.syslog.logline_pb2 import LogLine
from turnout.syslog.parsing import RAW, parse, parse_many

#: Bytes that steer framing and parsing, mixed with anything at all.
SYSLOGISH = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [b"<13>", b"<165>1 ", b"2003-10-11T22:14:15.003Z ", b"Oct 11 22:14:15 ", b"- ",
         b"[a@1 k=\"v\\\"\"]", b"\n", b"\r\n", b" ", b"12 ", b"0 ", b"99999 ", b"]", b"\""]
    ),
)  # fmt: skip
STREAMS = st.lists(SYSLOGISH, max_size=30).map(b"".join)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


@settings(max_examples=400, deadline=None)
@given(STREAMS, st.lists(st.integers(min_value=0), max_size=8), st.integers(16, 200))
def test_every_byte_fed_is_in_a_message_or_counted(
    data: bytes, cuts: list[int], max_message: int
) -> None:
    framer = Framer(max_message)
    messages: list[bytes] = []
    for chunk in chunked(data, cuts):
        messages += framer.feed(chunk)
    messages += framer.close()
    counters = framer.counters
    assert framer.pending_bytes == 0
    assert sum(map(len, messages)) == counters.payload_bytes
    assert counters.payload_bytes + counters.framing_bytes + counters.dropped_bytes == len(data)
    assert all(0 < len(message) <= max_message for message in messages)


@settings(max_examples=200, deadline=None)
@given(STREAMS, st.lists(st.integers(min_value=0), max_size=8))
def test_chunking_never_changes_the_messages(data: bytes, cuts: list[int]) -> None:
    whole = Framer()
    expected = whole.feed(data) + whole.close()
    split = Framer()
    got: list[bytes] = []
    for chunk in chunked(data, cuts):
        got += split.feed(chunk)
    assert got + split.close() == expected


@settings(max_examples=500, deadline=None)
@given(STREAMS)
def test_the_parser_never_raises_and_never_loses_a_malformed_line(line: bytes) -> None:
    fields = parse(line)
    if fields[0] == RAW:
        assert fields[8] == line
    else:
        assert fields[8] in line


@settings(max_examples=300, deadline=None)
@given(st.lists(STREAMS, min_size=1, max_size=10))
def test_json_values_are_always_valid_json_one_per_message(lines: list[bytes]) -> None:
    fields, _ = counted_parse(lines)
    values = json_values(lines, fields)
    assert len(values) == len(lines)
    for line, value in zip(lines, values, strict=True):
        record = json.loads(value)
        if record["syntax"] == "raw":
            assert record["msg"] == line.decode("utf-8", "backslashreplace")


@settings(max_examples=300, deadline=None)
@given(st.lists(STREAMS, min_size=1, max_size=10))
def test_the_bulk_escaped_json_says_what_json_dumps_says(lines: list[bytes]) -> None:
    # A control byte anywhere sends the whole batch down the json.dumps path.
    with_control = [*lines, b"\x00"]
    fields, _ = counted_parse(with_control)
    slow = [json.loads(value) for value in json_values(with_control, fields)][:-1]
    fields, _ = counted_parse(lines)
    assert [json.loads(value) for value in json_values(lines, fields)] == slow


@settings(max_examples=200, deadline=None)
@given(st.lists(STREAMS, min_size=1, max_size=10))
def test_logline_values_always_decode(lines: list[bytes]) -> None:
    values = LogLineEncoder("s", {"k": "v"}, 1).values(lines, 1, 2)
    decoded = [LogLine.FromString(value).line for value in values]
    assert decoded == [line.decode("utf-8", "backslashreplace") for line in lines]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(STREAMS, st.builds(lambda tail: b"<13>1 - h a p m " + tail, STREAMS)),
                max_size=8))  # fmt: skip
def test_parsing_a_batch_says_what_parsing_each_line_says(lines: list[bytes]) -> None:
    fields, malformed = parse_many(lines)
    one_by_one = [parse(line) for line in lines]
    assert fields == one_by_one
    assert malformed == sum(1 for parsed in one_by_one if parsed[0] == RAW)
