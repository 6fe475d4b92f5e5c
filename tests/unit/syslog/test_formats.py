"""Record values: JSON of the parsed fields (bulk-escaped), raw, and LogLine."""

from __future__ import annotations

import json

from turnout.syslog.formats import counted_parse, json_values
from turnout.syslog.logline import LogLineEncoder
from turnout.syslog.logline_pb2 import LogLine


def as_json(*lines: bytes) -> list[dict[str, object]]:
    fields, _ = counted_parse(lines)
    return [json.loads(value) for value in json_values(lines, fields)]


def test_json_carries_every_parsed_field_with_nulls_for_nil_values() -> None:
    (record,) = as_json(b'<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a@1 k="v"] hello')
    assert record == {
        "syntax": "rfc5424", "facility": 20, "severity": 5,
        "timestamp": "2003-10-11T22:14:15.003Z", "host": "host", "app": "app",
        "procid": None, "msgid": "ID47", "sd": '[a@1 k="v"]', "msg": "hello",
    }  # fmt: skip


def test_json_escapes_quotes_backslashes_and_keeps_unicode() -> None:
    line = '<13>1 - - - - - - say "hi" C:\\path — ünïcode'.encode()
    assert as_json(line)[0]["msg"] == 'say "hi" C:\\path — ünïcode'


def test_control_bytes_and_lf_inside_a_message_make_valid_json() -> None:
    records = as_json(b"<13>1 - - - - - - tab\there", b"<13>1 - - - - - - two\nlines\x01\x1f")
    assert [r["msg"] for r in records] == ["tab\there", "two\nlines\x01\x1f"]


def test_invalid_utf8_becomes_visible_escapes_not_an_error() -> None:
    (record,) = as_json(b"<13>1 - - - - - - bad \xff\xfe bytes")
    assert record["msg"] == "bad \\xff\\xfe bytes"


def test_malformed_lines_are_raw_json_with_the_whole_line() -> None:
    (record,) = as_json(b"not syslog at all")
    assert record["syntax"] == "raw"
    assert record["msg"] == "not syslog at all"
    assert record["facility"] is None


def test_counted_parse_counts_malformed_lines() -> None:
    _, malformed = counted_parse([b"<13>1 - - - - - - ok", b"junk", b"more junk"])
    assert malformed == 2


def test_logline_values_decode_with_the_schema_and_carry_every_field() -> None:
    encoder = LogLineEncoder("web", {"dc": "eu", "env": "prod"}, 3)
    long_line = b"<13>1 - - - - - - " + b"x" * 300
    values = encoder.values([b"<13>short", long_line], received_ms=1000, produced_ms=1005)
    first, second = (LogLine.FromString(value) for value in values)
    assert first.line == "<13>short"
    assert second.line == long_line.decode()
    assert first.source == "web"
    assert [(tag.key, tag.value) for tag in first.tag] == [("dc", "eu"), ("env", "prod")]
    assert first.logtypeid == 3
    assert list(first.timings) == [1000, 1005]


def test_logline_equals_what_protobuf_itself_would_encode() -> None:
    encoder = LogLineEncoder("src", {"k": "v"}, 7)
    (value,) = encoder.values([b"hello"], received_ms=1, produced_ms=2)
    expected = LogLine(
        line="hello", source="src", tag=[LogLine.Tag(key="k", value="v")], logtypeid=7,
        timings=[1, 2],
    )  # fmt: skip
    assert LogLine.FromString(value) == expected
