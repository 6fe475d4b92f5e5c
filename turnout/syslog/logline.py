"""The original client's ``LogLine`` protobuf as a record value (schema: logline.proto).

Every line of one read shares its source, tags, log type id and timings, so those are
serialised once per batch by protobuf and each value is the ``line`` field (tag 1,
length-delimited) followed by those shared bytes: protobuf's wire format lets fields come
in any order, and decoders (``LogLine.FromString``) read the result as one message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from turnout.syslog.logline_pb2 import LogLine

_LINE_FIELD = b"\x0a"  # field 1, wire type 2 (length-delimited)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class LogLineEncoder:
    def __init__(self, source: str, tags: Mapping[str, str], log_type_id: int) -> None:
        self._template = LogLine(
            source=source,
            tag=[LogLine.Tag(key=key, value=value) for key, value in tags.items()],
            logtypeid=log_type_id,
        )
        self._prefixes: dict[int, bytes] = {}

    def _prefix(self, length: int) -> bytes:
        prefix = self._prefixes.get(length)
        if prefix is None:
            prefix = self._prefixes[length] = _LINE_FIELD + _varint(length)
        return prefix

    def values(self, lines: Sequence[bytes], received_ms: int, produced_ms: int) -> list[bytes]:
        """One LogLine per line. ``line`` is a protobuf string: invalid UTF-8 is written as
        ``\\xNN`` text (backslashreplace) so every decoder can read it."""
        shared = LogLine()
        shared.CopyFrom(self._template)
        shared.timings.extend((received_ms, produced_ms))
        suffix = shared.SerializePartialToString()
        try:
            b"".join(lines).decode("utf-8")
        except UnicodeDecodeError:
            lines = [_valid_utf8(line) for line in lines]
        prefix = self._prefix
        return [prefix(len(line)) + line + suffix for line in lines]


def _valid_utf8(line: bytes) -> bytes:
    return line.decode("utf-8", "backslashreplace").encode("utf-8")
