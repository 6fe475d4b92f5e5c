"""Parsing one syslog message: RFC 5424, then RFC 3164 and its common variants, else raw.

``parse`` never raises and never loses bytes: a message that is neither RFC 5424 nor
RFC 3164 comes back as ``RAW`` with the whole line as its ``msg`` (the caller counts it
as malformed). Fields are the message's own bytes, never decoded here: decoding (and what
to do with invalid UTF-8) belongs to the output format.

RFC 5424 (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]``): NILVALUE fields ("-")
become ``None``; the timestamp must be RFC 3339 with a zone (``Z`` or ``±hh:mm``); the
structured data is checked against the RFC's grammar (escaped ``"``, ``\\`` and ``]``
inside values) and kept as its text.

RFC 3164 as senders really write it (``<PRI>`` then):

- ``Mmm dd hh:mm:ss HOST TAG[PID]: MSG`` (BSD; the day may be space-padded);
- the same without HOST (local senders, e.g. ``logger`` over a socket);
- an RFC 3339 timestamp instead of the BSD one (rsyslog's forwarding format);
- a TAG without ``[PID]``, or no TAG at all (everything after the header is MSG).

A ``<PRI>`` with no timestamp after it is malformed (RAW): RFC 3164 lets a relay invent
the header, but this server keeps what it received and says it could not parse it.

``parse_many`` is the hot path: per RFC 5424 line one ``bytes.split``, a few comparisons
and a ``find`` for the end of the structured data; the two fields whose grammar needs a
regular expression (timestamp, structured data) are then checked for the whole batch at
once, each joined with LF and matched by one ``fullmatch`` (neither grammar admits an LF,
so the joined text matches exactly when every part does). A batch that fails the check is
parsed again line by line with ``parse``, so both always agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

RFC5424: Final = 0
RFC3164: Final = 1
RAW: Final = 2
SYNTAX_NAMES: Final = ("rfc5424", "rfc3164", "raw")

#: ``(syntax, pri, timestamp, host, app, procid, msgid, sd, msg)``: a plain tuple
#: because one is built per message on the hot path. ``pri`` is -1 when absent.
Fields = tuple[int, int, bytes | None, bytes | None, bytes | None, bytes | None,
               bytes | None, bytes | None, bytes]  # fmt: skip
SYNTAX, PRI, TIMESTAMP, HOST, APP, PROCID, MSGID, SD, MSG = range(9)

_MAX_PRI = 191
_NIL = b"-"
_TIMESTAMP_5424 = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)", re.ASCII
)
#: SD-ELEMENT+: ``[SD-ID (SP PARAM-NAME="PARAM-VALUE")*]`` with ``\"``, ``\\`` and ``\]``
#: escaped inside values (a lone backslash before another character is taken as is,
#: as the RFC asks receivers to). Possessive quantifiers: no backtracking on long input.
_SD_NAME = rb'[^\s="\]]{1,32}+'
_SD_ELEMENTS = re.compile(
    rb"(?:\[" + _SD_NAME + rb"(?: " + _SD_NAME + rb'="(?:[^"\\]++|\\.)*+")*+\])++', re.S
)
#: Many of them, LF-separated; LF is excluded inside, so a match proves every part.
_TIMESTAMPS = re.compile(
    rb"(?:" + _TIMESTAMP_5424.pattern + rb"\n)*" + _TIMESTAMP_5424.pattern, re.ASCII
)
_SD_ONE_LINE = rb"(?:\[" + _SD_NAME + rb"(?: " + _SD_NAME + rb'="(?:[^"\\\n]++|\\[^\n])*+")*+\])++'
_SDS = re.compile(rb"(?:" + _SD_ONE_LINE + rb"\n)*" + _SD_ONE_LINE)
_BSD_MONTHS = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_HEADER_3164 = re.compile(
    rb"<(\d{1,3})>"
    rb"(" + _BSD_MONTHS + rb" [ \d]\d \d\d:\d\d:\d\d"
    rb"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) ?",
    re.ASCII,
)
#: TAG[PID]: at the start of what follows the timestamp (and host).
_TAG = re.compile(rb"([^\s\[\]:]{1,48}+)(?:\[([^\s\]]{1,128}+)\])?: ?")


def parse(line: bytes) -> Fields:
    """The fields of one message; never raises."""
    parts = line.split(b" ", 6)
    head = parts[0]
    if len(parts) == 7 and head[-2:] == b">1" and head[:1] == b"<":
        fields = _parse_5424(parts)
        if fields is not None:
            return fields
    if line[:1] == b"<":
        return _parse_3164(line)
    return (RAW, -1, None, None, None, None, None, None, line)


def parse_many(lines: Sequence[bytes]) -> tuple[list[Fields], int]:
    """Every line parsed (equal to ``[parse(line) for line in lines]``), and how many of
    them were malformed."""
    fields: list[Fields] = []
    append = fields.append
    stamps: list[bytes] = []
    sds: list[bytes] = []
    malformed = 0
    for line in lines:
        parts = line.split(b" ", 6)
        head = parts[0]
        if len(parts) == 7 and head[-2:] == b">1" and head[:1] == b"<":
            _, stamp, host, app, procid, msgid, rest = parts
            digits = head[1:-2]
            first = rest[:1]
            if (
                digits.isdigit()
                and (len(digits) == 1 or (digits[0] != 48 and len(digits) <= 3))
                and host
                and app
                and procid
                and msgid
            ):
                pri = int(digits)
                sd: bytes | None = None
                msg: bytes | None = None
                if first == _NIL:
                    if len(rest) == 1 or rest[1] == 32:
                        msg = rest[2:]
                elif first == b"[":
                    end = rest.find(b"] ")
                    if end >= 0:
                        sd, msg = rest[: end + 1], rest[end + 2 :]
                    elif rest[-1:] == b"]":
                        sd, msg = rest, b""
                if msg is not None and pri <= _MAX_PRI:
                    if stamp != _NIL:
                        stamps.append(stamp)
                    if sd is not None:
                        sds.append(sd)
                    append(
                        (
                            RFC5424, pri, None if stamp == _NIL else stamp,
                            None if host == _NIL else host,
                            None if app == _NIL else app,
                            None if procid == _NIL else procid,
                            None if msgid == _NIL else msgid,
                            sd, msg,
                        )
                    )  # fmt: skip
                    continue
        parsed = parse(line)
        if parsed[0] == RAW:
            malformed += 1
        append(parsed)
    if (stamps and _TIMESTAMPS.fullmatch(b"\n".join(stamps)) is None) or (
        sds and _SDS.fullmatch(b"\n".join(sds)) is None
    ):
        fields = [parse(line) for line in lines]
        malformed = sum(1 for parsed in fields if parsed[0] == RAW)
    return fields, malformed


def _pri(digits: bytes) -> int:
    if not digits.isdigit() or len(digits) > 3 or (len(digits) > 1 and digits[0] == 48):
        return -1
    value = int(digits)
    return value if value <= _MAX_PRI else -1


def _parse_5424(parts: list[bytes]) -> Fields | None:
    pri = _pri(parts[0][1:-2])
    if pri < 0:
        return None
    _, timestamp, host, app, procid, msgid, rest = parts
    if timestamp == _NIL:
        stamp = None
    elif _TIMESTAMP_5424.fullmatch(timestamp):
        stamp = timestamp
    else:
        return None
    if not (host and app and procid and msgid):
        return None  # two spaces in a row: an empty header field
    if rest[:1] == _NIL:
        if len(rest) > 1 and rest[1] != 32:
            return None
        sd = None
        msg = rest[2:]
    elif rest[:1] == b"[":
        found = _SD_ELEMENTS.match(rest)
        if found is None:
            return None
        end = found.end()
        if len(rest) > end and rest[end] != 32:
            return None
        sd = rest[:end]
        msg = rest[end + 1 :]
    else:
        return None
    return (
        RFC5424,
        pri,
        stamp,
        None if host == _NIL else host,
        None if app == _NIL else app,
        None if procid == _NIL else procid,
        None if msgid == _NIL else msgid,
        sd,
        msg,
    )


def _parse_3164(line: bytes) -> Fields:
    header = _HEADER_3164.match(line)
    if header is None:
        return (RAW, -1, None, None, None, None, None, None, line)
    pri = _pri(header.group(1))
    if pri < 0:
        return (RAW, -1, None, None, None, None, None, None, line)
    timestamp = header.group(2)
    position = header.end()
    host: bytes | None = None
    tag = _TAG.match(line, position)
    if tag is None:
        # Not a tag: the first word is the host, then maybe a tag.
        space = line.find(b" ", position)
        if space > position:
            host = line[position:space]
            position = space + 1
            tag = _TAG.match(line, position)
        elif space < 0 and position < len(line):
            host = line[position:]
            position = len(line)
    app = procid = None
    if tag is not None:
        app, procid = tag.group(1), tag.group(2)
        position = tag.end()
    return (RFC3164, pri, timestamp, host, app, procid, None, None, line[position:])
