"""Record values: the raw line, JSON of the parsed fields, or the original client's LogLine.

Every encoder takes a list of messages (one read's worth) and returns one value per
message, in order. The JSON encoder escapes in bulk: each object is first written with
``\\x01`` in place of its structural quotes, the batch is joined, ``\\`` and ``"`` are
escaped over the whole batch at once, and ``\\x01`` becomes ``"``. That is exact when the
batch holds no control byte (which would need ``\\u00XX``) and no LF inside a message
(the join's separator); a batch that has one takes the per-message path with
``json.dumps``. Invalid UTF-8 is written as ``\\xNN`` text (Python's backslashreplace),
so the JSON is always valid and the raw bytes stay readable.

JSON object, every key always present (``null`` when the message lacks the field)::

    {"syntax": "rfc5424" | "rfc3164" | "raw", "facility": int|null,
     "severity": int|null, "timestamp": str|null, "host": str|null, "app": str|null,
     "procid": str|null, "msgid": str|null, "sd": str|null, "msg": str}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from turnout.syslog import parsing
from turnout.syslog.parsing import Fields

_QUOTE: Final = b"\x01"
#: Stands for an absent field inside the stand-in quotes: ``\x01\x02\x01`` → ``null``.
_ABSENT: Final = b"\x02"
_OBJECT: Final = (
    b"{\x01syntax\x01:\x01%s\x01,\x01facility\x01:%s,\x01severity\x01:%s,"
    b"\x01timestamp\x01:\x01%s\x01,\x01host\x01:\x01%s\x01,\x01app\x01:\x01%s\x01,"
    b"\x01procid\x01:\x01%s\x01,\x01msgid\x01:\x01%s\x01,\x01sd\x01:\x01%s\x01,"
    b"\x01msg\x01:\x01%s\x01}"
)
_SYNTAX: Final = tuple(name.encode() for name in parsing.SYNTAX_NAMES)
#: Indexed by PRI; index -1 (no PRI) is ``null``.
_FACILITY: Final = (*(b"%d" % (pri >> 3) for pri in range(192)), b"null")
_SEVERITY: Final = (*(b"%d" % (pri & 7) for pri in range(192)), b"null")
#: Bytes JSON cannot carry unescaped (other than ``"`` and ``\``), which includes LF (the
#: join's separator) and the stand-ins ``\x01`` and ``\x02``. (``translate`` deleting
#: them and comparing lengths scans several times faster than a regular expression.)
_CONTROL_BYTES: Final = bytes(range(0x20))


def counted_parse(lines: Sequence[bytes]) -> tuple[list[Fields], int]:
    """Every message parsed, and how many of them were malformed (kept raw)."""
    return parsing.parse_many(lines)


def json_values(lines: Sequence[bytes], fields: Sequence[Fields]) -> list[bytes]:
    """One JSON object per message (``fields`` are ``lines`` parsed)."""
    if not fields:
        return []
    joined_lines = b"".join(lines)
    if len(joined_lines.translate(None, _CONTROL_BYTES)) != len(joined_lines):
        return [_json_one(parsed) for parsed in fields]
    template = _OBJECT
    syntax_names = _SYNTAX
    facility = _FACILITY
    severity = _SEVERITY
    absent = _ABSENT
    joined = b"\n".join(
        [
            template
            % (
                syntax_names[syntax],
                facility[pri],
                severity[pri],
                stamp or absent,
                host or absent,
                app or absent,
                procid or absent,
                msgid or absent,
                sd or absent,
                msg,
            )
            for syntax, pri, stamp, host, app, procid, msgid, sd, msg in fields
        ]
    )
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        joined = joined.decode("utf-8", "backslashreplace").encode("utf-8")
    escaped = (
        joined.replace(b"\\", b"\\\\")
        .replace(b'"', b'\\"')
        .replace(b"\x01\x02\x01", b"null")
        .replace(_QUOTE, b'"')
    )
    return escaped.split(b"\n")


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "backslashreplace")


def _json_one(parsed: Fields) -> bytes:
    syntax, pri, stamp, host, app, procid, msgid, sd, msg = parsed
    body = {
        "syntax": parsing.SYNTAX_NAMES[syntax],
        "facility": pri >> 3 if pri >= 0 else None,
        "severity": pri & 7 if pri >= 0 else None,
        "timestamp": _text(stamp),
        "host": _text(host),
        "app": _text(app),
        "procid": _text(procid),
        "msgid": _text(msgid),
        "sd": _text(sd),
        "msg": _text(msg),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def raw_values(lines: Sequence[bytes]) -> Sequence[bytes]:
    """The messages as received: the value is the line."""
    return lines


ValueEncoder = Callable[[Sequence[bytes]], Sequence[bytes]]
