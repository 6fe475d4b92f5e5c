"""Splitting a syslog byte stream into messages (RFC 6587), one ``Framer`` per connection.

Two framings share a port; the first byte of a connection's stream chooses one:

- **octet counting** (a digit first): ``MSG-LEN SP SYSLOG-MSG`` repeated;
- **non-transparent** (anything else): messages end at LF (a CR before the LF is dropped
  with it, the way most senders' CRLF is meant).

States of a framer::

    UNDECIDED ──first byte a digit──▶ OCTET ──a length that is not 1-9 digits and SP──▶ LF
        └────────first byte other─────▶ LF

A length field that is not a number (a sender that mixed framings, or garbage) moves the
connection to LF framing for the rest of its life: the bytes up to the next LF become one
message and parsing keeps them raw, so nothing is lost and the stream resynchronises.

Bounds: a message longer than ``max_message`` is cut to ``max_message`` bytes (the cut
bytes are counted in ``dropped_bytes`` and the message in ``truncated``), so a framer
never buffers more than ``max_message`` + one read. Every byte fed is accounted for:
``fed == payload_bytes + framing_bytes + dropped_bytes + pending_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: RFC 5425 asks receivers to take at least 2048 octets and recommends 8192; rsyslog's
#: default is 8 KiB too. Long Java stack traces need more, hence a setting.
DEFAULT_MAX_MESSAGE = 8192
#: MSG-LEN has no leading zero and fits in 9 digits for any sane bound.
_MAX_LENGTH_DIGITS = 9
_DIGITS = frozenset(b"0123456789")
_UNDECIDED, _OCTET, _LF = 0, 1, 2


@dataclass
class FramerCounters:
    payload_bytes: int = 0
    framing_bytes: int = 0
    dropped_bytes: int = 0
    truncated: int = 0
    framing_errors: int = 0


class Framer:
    """Turns the chunks a connection delivers into whole messages."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        if max_message < 1:
            raise ValueError("max_message must be at least 1")
        self.max_message = max_message
        self.counters = FramerCounters()
        self._mode = _UNDECIDED
        self._buffer = b""
        #: Bytes still to skip: the cut tail of an oversized message.
        self._skip = 0
        #: In LF mode: discarding the rest of an oversized line up to its LF.
        self._skip_line = False

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    @property
    def mode(self) -> str:
        return ("undecided", "octet-counting", "non-transparent")[self._mode]

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data`` (possibly none), in order."""
        if not data:
            return []
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        frames: list[bytes] = []
        position = self._skip_bytes(buffer, 0)
        if self._mode == _UNDECIDED and position < len(buffer):
            self._mode = _OCTET if buffer[position] in _DIGITS else _LF
        if self._mode == _OCTET:
            position = self._octet_frames(buffer, position, frames)
        if self._mode == _LF:
            position = self._lf_frames(buffer, position, frames)
        self._buffer = buffer[position:]
        return frames

    def close(self) -> list[bytes]:
        """End of stream: what is left becomes a last message (an unterminated line, or
        an octet-counted message shorter than its count, counted as truncated)."""
        rest, self._buffer = self._buffer, b""
        if not rest:
            return []
        if self._mode == _OCTET:
            space = rest.find(b" ")
            if 0 < space <= _MAX_LENGTH_DIGITS and rest[:space].isdigit():
                self.counters.framing_bytes += space + 1
                self.counters.truncated += 1
                rest = rest[space + 1 :]
                if not rest:
                    return []
        return self._emit_bounded(rest, [])

    # ---- octet counting ----------------------------------------------------------------

    def _octet_frames(self, buffer: bytes, position: int, frames: list[bytes]) -> int:
        # The hot loop: per message one find, one int and two slices; the counters are
        # settled once per call from the positions and the messages' lengths.
        end = len(buffer)
        first_frame = len(frames)
        consumed_from = position
        find = buffer.find
        append = frames.append
        limit = self.max_message
        while position < end:
            space = find(b" ", position, position + _MAX_LENGTH_DIGITS + 1)
            if space < 0:
                if end - position > _MAX_LENGTH_DIGITS or not buffer[position:end].isdigit():
                    position = self._to_lf(position)
                break  # or the length field continues in the next read
            digits = buffer[position:space]
            if not digits.isdigit() or digits[0] == 48:
                position = self._to_lf(position)
                break
            length = int(digits)
            start = space + 1
            if length <= limit:
                if start + length > end:
                    break  # the message continues in the next read
                position = start + length
                append(buffer[start:position])
                continue
            # Oversized: keep the first `limit` bytes, skip the rest as it arrives.
            if start + limit > end:
                break
            append(buffer[start : start + limit])
            self.counters.truncated += 1
            self._skip = length - limit
            self._settle(consumed_from, start + limit, frames, first_frame)
            first_frame = len(frames)
            position = consumed_from = self._skip_bytes(buffer, start + limit)
        self._settle(consumed_from, position, frames, first_frame)
        return position

    def _settle(self, start: int, stop: int, frames: list[bytes], first_frame: int) -> None:
        """Count the bytes from ``start`` to ``stop``: the new messages' and their framing."""
        payload = sum(map(len, frames[first_frame:]))
        self.counters.payload_bytes += payload
        self.counters.framing_bytes += stop - start - payload

    def _skip_bytes(self, buffer: bytes, position: int) -> int:
        if not self._skip:
            return position
        skipped = min(self._skip, len(buffer) - position)
        self._skip -= skipped
        self.counters.dropped_bytes += skipped
        return position + skipped

    def _to_lf(self, position: int) -> int:
        self.counters.framing_errors += 1
        self._mode = _LF
        return position

    # ---- LF framing ----------------------------------------------------------------------

    def _lf_frames(self, buffer: bytes, position: int, frames: list[bytes]) -> int:
        if self._skip_line:
            newline = buffer.find(b"\n", position)
            if newline < 0:
                self.counters.dropped_bytes += len(buffer) - position
                return len(buffer)
            self.counters.dropped_bytes += newline - position
            self.counters.framing_bytes += 1
            self._skip_line = False
            position = newline + 1
        last = buffer.rfind(b"\n", position)
        if last >= 0:
            segment = buffer[position:last]
            lines = segment.split(b"\n")
            self.counters.framing_bytes += len(lines)
            plain = b"\r" not in segment and b"" not in lines
            if plain and max(map(len, lines)) <= self.max_message:
                self.counters.payload_bytes += len(segment) - len(lines) + 1
                frames.extend(lines)
            else:
                for line in lines:
                    self._emit_bounded(line, frames)
            position = last + 1
        if len(buffer) - position > self.max_message:
            self._emit_bounded(buffer[position:], frames)
            self._skip_line = True
            return len(buffer)
        return position

    def _emit_bounded(self, line: bytes, frames: list[bytes]) -> list[bytes]:
        """Append ``line`` cut to the bound (a trailing CR is framing); skip it if empty."""
        if line.endswith(b"\r") and len(line) <= self.max_message + 1:
            self.counters.framing_bytes += 1
            line = line[:-1]
        if len(line) > self.max_message:
            self.counters.truncated += 1
            self.counters.dropped_bytes += len(line) - self.max_message
            line = line[: self.max_message]
        if line:  # an empty line carries nothing: it is framing, not a message
            self.counters.payload_bytes += len(line)
            frames.append(line)
        return frames
