"""Serializers: what each accepts, what it produces, and how it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.protobuf.wrappers_pb2 import Int64Value, StringValue

from turnout.producer import BytesSerializer, JsonSerializer, ProtobufSerializer, StrSerializer


def test_bytes_passes_bytes_through_and_copies_other_buffers() -> None:
    serialize = BytesSerializer()
    value = b"\x00\xff"
    assert serialize(value, "t") is value
    assert serialize(bytearray(b"ab"), "t") == b"ab"
    assert serialize(memoryview(b"cd"), "t") == b"cd"


def test_bytes_refuses_text() -> None:
    with pytest.raises(TypeError, match="expected bytes, got str"):
        BytesSerializer()("text", "t")  # type: ignore[arg-type]


def test_utf8_text_goes_to_librdkafka_unencoded() -> None:
    value = "grüß"
    assert StrSerializer()(value, "t") is value
    assert StrSerializer("UTF_8")(value, "t") is value


def test_other_encodings_are_encoded_here() -> None:
    assert StrSerializer("latin-1")("grüß", "t") == "grüß".encode("latin-1")


def test_str_refuses_non_text() -> None:
    with pytest.raises(TypeError, match="expected str, got int"):
        StrSerializer()(5, "t")  # type: ignore[arg-type]


def test_json_is_compact_and_keeps_unicode() -> None:
    text = JsonSerializer()({"a": [1, 2], "b": "ü"}, "t")
    assert text == '{"a":[1,2],"b":"ü"}'
    assert json.loads(text) == {"a": [1, 2], "b": "ü"}


def test_json_sorts_keys_when_asked() -> None:
    assert JsonSerializer(sort_keys=True)({"b": 1, "a": 2}, "t") == '{"a":2,"b":1}'


def test_json_converts_unknown_objects_with_default() -> None:
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    serialize = JsonSerializer(default=lambda value: value.isoformat())
    assert serialize({"at": moment}, "t") == '{"at":"2026-01-02T00:00:00+00:00"}'


def test_json_refuses_what_it_cannot_encode() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        JsonSerializer()({"x": object()}, "t")


def test_protobuf_writes_the_wire_format() -> None:
    message = StringValue(value="hello")
    data = ProtobufSerializer(StringValue)(message, "t")
    assert data == message.SerializeToString()
    assert StringValue.FromString(data) == message


def test_protobuf_refuses_another_message_type() -> None:
    serialize = ProtobufSerializer(StringValue)
    with pytest.raises(TypeError, match=r"expected google\.protobuf\.StringValue, got Int64Value"):
        serialize(Int64Value(value=1), "t")  # type: ignore[arg-type]
