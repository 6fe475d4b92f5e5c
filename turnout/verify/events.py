"""The event types of a verification history, and their JSON-lines form.

Every line of an event log is one JSON object whose ``"event"`` field names its kind.
Agent-side events carry who wrote them and when: ``instance``, ``colour``, ``pid``, wall
time ``ts`` (seconds since the epoch, for humans) and ``mono_ns`` (``CLOCK_MONOTONIC``,
system-wide on Linux, so comparable across processes on one host; the checker orders by
it). Producer logs hold ``produced`` lines only, written from delivery callbacks, so every
one of them is an acknowledged record. docs/verification.md is the prose version.

The event classes are plain (not frozen) slotted dataclasses because a history holds
millions of them and frozen construction costs about three times as much; treat them as
read-only all the same.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Final

#: Field naming the kind of a line.
KIND_FIELD: Final = "event"


@dataclass(slots=True, kw_only=True)
class _Header:
    instance: str
    colour: str
    pid: int
    ts: float
    mono_ns: int


@dataclass(slots=True, kw_only=True)
class Processed(_Header):
    """The handler ran on one record, from ``start_ns`` to ``end_ns`` (monotonic)."""

    KIND: ClassVar[str] = "processed"
    topic: str
    partition: int
    offset: int
    key: str | None
    #: The payload; test producers make it a unique id.
    value: str
    epoch: int
    start_ns: int
    end_ns: int


@dataclass(slots=True, kw_only=True)
class Claimed(_Header):
    """The instance became owner of a partition and will start at ``start_offset``."""

    KIND: ClassVar[str] = "claimed"
    group: str
    topic: str
    partition: int
    epoch: int
    start_offset: int


@dataclass(slots=True, kw_only=True)
class Released(_Header):
    """The instance stopped processing a partition, committed, and gave up its owner node."""

    KIND: ClassVar[str] = "released"
    group: str
    topic: str
    partition: int
    epoch: int
    #: The offset committed on release (next to consume), None if nothing was committed.
    committed_offset: int | None


@dataclass(slots=True, kw_only=True)
class Committed(_Header):
    """A commit succeeded; ``offset`` is the next offset to consume. Logged after success."""

    KIND: ClassVar[str] = "committed"
    group: str
    topic: str
    partition: int
    offset: int
    epoch: int


@dataclass(slots=True, kw_only=True)
class Fenced(_Header):
    """The instance stopped processing and committing everything (suspended too long, lost)."""

    KIND: ClassVar[str] = "fenced"
    reason: str


@dataclass(slots=True, kw_only=True)
class Produced:
    """A record the broker acknowledged (written from the producer's delivery callback)."""

    KIND: ClassVar[str] = "produced"
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str


Event = Processed | Claimed | Released | Committed | Fenced
Line = Event | Produced

_KINDS: Final[dict[str, type[Line]]] = {
    cls.KIND: cls for cls in (Processed, Claimed, Released, Committed, Fenced, Produced)
}
_FIELDS: Final[dict[str, frozenset[str]]] = {
    kind: frozenset(f.name for f in fields(cls)) for kind, cls in _KINDS.items()
}
#: Fields repeated on most lines: interned so a million events share one string each.
_INTERNED: Final = ("instance", "colour", "topic", "group")


def encode(kind: str, payload: dict[str, Any]) -> str:
    """One line (with its newline) for an event of ``kind`` with fields ``payload``."""
    return json.dumps({KIND_FIELD: kind, **payload}, separators=(",", ":")) + "\n"


def decode(line: str) -> Line:
    """Parse one line; unknown fields are ignored so newer writers do not break readers.

    Raises ``ValueError`` for anything that is not a known event with its fields.
    """
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {line[:200]!r}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"not a JSON object: {line[:200]!r}")
    kind = raw.pop(KIND_FIELD, None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r} in {line[:200]!r}")
    known = _FIELDS[cls.KIND]
    values = raw if raw.keys() <= known else {k: v for k, v in raw.items() if k in known}
    for name in _INTERNED:
        value = values.get(name)
        if isinstance(value, str):
            values[name] = sys.intern(value)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{cls.KIND} event with missing fields: {line[:200]!r}") from exc


def decode_text(data: bytes | None) -> str | None:
    """Key or value bytes as text for the log; invalid UTF-8 is escaped, not dropped."""
    return None if data is None else data.decode("utf-8", errors="backslashreplace")
