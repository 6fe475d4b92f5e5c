"""Serializers: how a key or value becomes the bytes of a Kafka record.

A serializer is any callable ``(value, topic) -> bytes | str``: the topic is there for
serializers whose encoding depends on it (a schema registry subject). A ``str`` result is
handed to librdkafka as it is, which encodes it as UTF-8 without an intermediate ``bytes``
object. ``None`` (no key; a tombstone value) never reaches a serializer: it is sent as no
bytes at all.

A producer with no serializer for the key or the value passes it straight through: it
must then already be ``bytes`` or ``str``, and nothing is called per message. The
serializers here raise ``TypeError`` or ``ValueError`` on a value they cannot encode; the
producer wraps whatever a serializer raises in
:class:`~turnout.producer.errors.SerializationError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, Protocol

from google.protobuf.message import Message
from typing_extensions import TypeVar

T_contra = TypeVar("T_contra", contravariant=True)
M = TypeVar("M", bound=Message)

#: What librdkafka takes for a key or a value.
Payload = bytes | str


class Serializer(Protocol[T_contra]):
    """Turns one key or value bound for ``topic`` into a payload."""

    def __call__(self, value: T_contra, topic: str, /) -> Payload: ...


class BytesSerializer:
    """Bytes-like values (``bytes``, ``bytearray``, ``memoryview``) as they are.

    Only needed to check types: a producer without a serializer passes bytes through
    without a call.
    """

    def __call__(self, value: bytes | bytearray | memoryview, topic: str, /) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        raise TypeError(f"expected bytes, got {type(value).__name__}")


class StrSerializer:
    """Text, encoded with ``encoding`` (UTF-8 by default, done by librdkafka's binding)."""

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding
        self._utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")

    def __call__(self, value: str, topic: str, /) -> Payload:
        if not isinstance(value, str):
            raise TypeError(f"expected str, got {type(value).__name__}")
        return value if self._utf8 else value.encode(self.encoding)


class JsonSerializer:
    """JSON text (compact, UTF-8). ``default`` converts objects ``json`` cannot encode,
    as in :func:`json.dumps`; ``sort_keys`` makes equal objects equal bytes."""

    def __init__(
        self, *, default: Callable[[Any], Any] | None = None, sort_keys: bool = False
    ) -> None:
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=default, sort_keys=sort_keys
        ).encode

    def __call__(self, value: Any, topic: str, /) -> str:
        return self._encode(value)


class ProtobufSerializer(Generic[M]):
    """Protocol Buffers messages of one type, in their binary wire format."""

    def __init__(self, message_type: type[M]) -> None:
        self.message_type = message_type

    def __call__(self, value: M, topic: str, /) -> bytes:
        if not isinstance(value, self.message_type):
            raise TypeError(
                f"expected {self.message_type.DESCRIPTOR.full_name}, got {type(value).__name__}"
            )
        return value.SerializeToString()
