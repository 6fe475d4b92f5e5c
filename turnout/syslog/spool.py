"""The on-disk spool: records that could not go to Kafka yet, kept in order across restarts.

Layout: one directory per worker holding segment files named by a 20-digit sequence
number (``00000001000000000042.seg``); lower numbers are older. A segment is a run of
records, each::

    header  >IHiI   value length, topic length, key length (-1: no key), CRC-32
    body            topic (UTF-8), key, value

with the CRC-32 over the body. Appends go to the newest segment, which is *open*; a
segment is *sealed* (fsynced and closed) when it passes ``SEGMENT_BYTES`` or when replay
needs it. A record is safe from the moment ``sync`` returns after its append; a crash can
leave a torn record at the end of the open segment, which replay detects (short header,
short body or CRC mismatch), counts in ``corrupt_bytes`` and skips.

Records the Kafka client still held at shutdown are older than everything spooled after
them, so they go into a segment numbered *before* the oldest one (``write_front``).
A segment is deleted (and the directory fsynced) only once every one of its records has
been delivered.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: Small enough that a replayed segment is read into memory in one go, large enough
#: that file creation and fsync of the directory are rare.
SEGMENT_BYTES: Final = 16 * 1024 * 1024
_HEADER: Final = struct.Struct(">IHiI")
_SUFFIX: Final = ".seg"
#: New directories start numbering here, leaving room below for ``write_front``.
_FIRST_SEQUENCE: Final = 10**15

#: ``(topic, key, value)``
SpoolRecord = tuple[str, bytes | None, bytes]


def encode(records: Iterable[SpoolRecord]) -> bytes:
    parts: list[bytes] = []
    pack = _HEADER.pack
    crc32 = zlib.crc32
    for topic, key, value in records:
        topic_bytes = topic.encode()
        key_bytes = b"" if key is None else key
        body = topic_bytes + key_bytes + value
        parts.append(
            pack(len(value), len(topic_bytes), -1 if key is None else len(key_bytes), crc32(body))
        )
        parts.append(body)
    return b"".join(parts)


@dataclass
class Decoded:
    records: list[SpoolRecord]
    corrupt_bytes: int


def decode(data: bytes) -> Decoded:
    """Every whole, intact record of ``data``; a torn or damaged tail is counted."""
    records: list[SpoolRecord] = []
    position = 0
    size = len(data)
    header_size = _HEADER.size
    while position + header_size <= size:
        value_length, topic_length, key_length, crc = _HEADER.unpack_from(data, position)
        body_start = position + header_size
        body_end = body_start + value_length + topic_length + max(key_length, 0)
        if body_end > size or zlib.crc32(data[body_start:body_end]) != crc:
            break
        topic_end = body_start + topic_length
        key_end = topic_end + max(key_length, 0)
        key = None if key_length < 0 else data[topic_end:key_end]
        records.append((data[body_start:topic_end].decode(), key, data[key_end:body_end]))
        position = body_end
    return Decoded(records, size - position)


def _sequence(path: Path) -> int:
    return int(path.name[: -len(_SUFFIX)])


def _name(sequence: int) -> str:
    return f"{sequence:020d}{_SUFFIX}"


class Spool:
    """One worker's spool directory. Not thread-safe: one event loop owns it."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._sealed: list[Path] = sorted(directory.glob("*" + _SUFFIX), key=_sequence)
        self._sizes = {path: path.stat().st_size for path in self._sealed}
        self.records = 0  # records in the spool as this process knows them (see ``count``)
        self._open_path: Path | None = None
        self._open_fd = -1
        self._open_size = 0
        self._unsynced = False
        self.corrupt_bytes = 0

    # ---- state ------------------------------------------------------------------------

    @property
    def total_bytes(self) -> int:
        return sum(self._sizes.values()) + self._open_size

    @property
    def is_empty(self) -> bool:
        return not self._sealed and self._open_size == 0

    @property
    def is_full(self) -> bool:
        return self.total_bytes >= self.max_bytes

    def count_existing(self) -> int:
        """Records already on disk at start (read once, for the queue-depth gauge)."""
        total = 0
        for path in self._sealed:
            total += len(decode(path.read_bytes()).records)
        self.records = total
        return total

    # ---- writing ----------------------------------------------------------------------

    def append(self, records: list[SpoolRecord]) -> None:
        """Append in order; safe only after the next ``sync``."""
        if not records:
            return
        if self._open_fd < 0:
            self._open(self._next_sequence())
        data = encode(records)
        _write_all(self._open_fd, data)
        self._open_size += len(data)
        self.records += len(records)
        self._unsynced = True
        if self._open_size >= SEGMENT_BYTES:
            self.seal()

    def sync(self) -> None:
        if self._unsynced and self._open_fd >= 0:
            os.fsync(self._open_fd)
        self._unsynced = False

    def seal(self) -> None:
        """Close the open segment (fsynced): replay reads only sealed segments."""
        if self._open_fd < 0:
            return
        self.sync()
        os.close(self._open_fd)
        assert self._open_path is not None
        self._sealed.append(self._open_path)
        self._sizes[self._open_path] = self._open_size
        self._open_fd, self._open_path, self._open_size = -1, None, 0

    def write_front(self, records: list[SpoolRecord]) -> None:
        """Write ``records`` as a sealed segment older than everything in the spool."""
        if not records:
            return
        first = min((_sequence(path) for path in self._all_paths()), default=_FIRST_SEQUENCE)
        path = self.directory / _name(first - 1)
        data = encode(records)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_directory(self.directory)
        self._sealed.insert(0, path)
        self._sizes[path] = len(data)
        self.records += len(records)

    def close(self) -> None:
        self.seal()

    # ---- replay -----------------------------------------------------------------------

    def oldest_sealed(self) -> Path | None:
        return self._sealed[0] if self._sealed else None

    def read(self, path: Path) -> list[SpoolRecord]:
        decoded = decode(path.read_bytes())
        self.corrupt_bytes += decoded.corrupt_bytes
        return decoded.records

    def remove(self, path: Path, records: int) -> None:
        """Delete a segment whose every record Kafka has acknowledged."""
        path.unlink()
        _fsync_directory(self.directory)
        self._sealed.remove(path)
        del self._sizes[path]
        self.records = max(0, self.records - records)

    # ---- helpers ----------------------------------------------------------------------

    def _all_paths(self) -> list[Path]:
        return [*self._sealed, *([self._open_path] if self._open_path else [])]

    def _next_sequence(self) -> int:
        last = max((_sequence(path) for path in self._all_paths()), default=_FIRST_SEQUENCE)
        return last + 1

    def _open(self, sequence: int) -> None:
        path = self.directory / _name(sequence)
        self._open_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        _fsync_directory(self.directory)
        self._open_path = path
        self._open_size = 0


def adopt(orphan: Path, into: Path) -> int:
    """Move every segment of ``orphan`` (a worker index no longer running) in front of
    ``into``'s, keeping their order; returns how many moved. Run before workers start."""
    segments = sorted(orphan.glob("*" + _SUFFIX), key=_sequence)
    if not segments:
        return 0
    into.mkdir(parents=True, exist_ok=True)
    first = min((_sequence(path) for path in into.glob("*" + _SUFFIX)), default=_FIRST_SEQUENCE)
    for offset, path in enumerate(reversed(segments), start=1):
        path.rename(into / _name(first - offset))
    _fsync_directory(into)
    _fsync_directory(orphan)
    return len(segments)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
