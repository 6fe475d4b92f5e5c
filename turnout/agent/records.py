"""The records a dispatcher is handed: one ``Record`` per message, and ``RecordRun``, a
partition's run of records built only when read (the consume loop's hot path).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from sys import getrefcount
from typing import overload

from confluent_kafka import Message

from turnout.protocol.partitions import PartitionId

Headers = tuple[tuple[str, bytes | None], ...]


class Record:
    """One fetched record, as the handler sees it. Treat it as read-only.

    A plain slotted class rather than a frozen dataclass: a record stands for every message
    on the per-record path, and a frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field) alone would cost more than the whole agent may
    spend per record to keep up with a plain consume loop. Build one by position or keyword
    (``Record(topic=..., ...)``); the agent makes its records over Kafka messages
    (``records_from_messages`` for a run, ``from_message`` for one), reading ``offset``,
    ``key``, ``value``, ``headers`` and ``timestamp_ms`` from the message when the handler
    asks for them. The work manager may move a record it handed to a per-message handler
    on to the next message once the handler has returned *without keeping it* (see
    ``RecordCursor``); a record anything still refers to is never changed.
    """

    __slots__ = (
        "_headers", "_key", "_message", "_offset", "_timestamp_ms", "_value", "epoch",
        "partition", "topic",
    )  # fmt: skip

    topic: str
    partition: int
    #: The directive epoch under which this instance owns the partition.
    epoch: int

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        timestamp_ms: int,
        epoch: int,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self._offset = offset
        self._key = key
        self._value = value
        self._headers = headers
        self._timestamp_ms = timestamp_ms
        self._message: Message | None = None

    @staticmethod
    def from_message(message: Message, topic: str, partition: int, epoch: int) -> Record:
        """A record over a fetched message (whose topic and partition the caller has read
        already); its other fields are read from the message when used."""
        return records_from_messages([message], topic, partition, epoch)[0]

    @property
    def offset(self) -> int:
        message = self._message
        return self._offset if message is None else message.offset()  # type: ignore[return-value]

    @property
    def key(self) -> bytes | None:
        message = self._message
        return self._key if message is None else message.key()

    @property
    def value(self) -> bytes | None:
        message = self._message
        return self._value if message is None else message.value()

    @property
    def timestamp_ms(self) -> int:
        message = self._message
        return self._timestamp_ms if message is None else message.timestamp()[1]

    @property
    def headers(self) -> Headers:
        """(name, value) pairs in the order sent; a name may repeat; values are bytes."""
        message = self._message
        return self._headers if message is None else _normalise_headers(message.headers())

    @property
    def tp(self) -> PartitionId:
        return (self.topic, self.partition)

    def _fields(self) -> tuple[object, ...]:
        return (
            self.topic, self.partition, self.offset, self.key, self.value, self.headers,
            self.timestamp_ms, self.epoch,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((self.topic, self.partition, self.offset, self.epoch))

    def __repr__(self) -> str:
        return (
            f"Record(topic={self.topic!r}, partition={self.partition}, offset={self.offset}, "
            f"key={self.key!r}, value={self.value!r}, headers={self.headers!r}, "
            f"timestamp_ms={self.timestamp_ms}, epoch={self.epoch})"
        )


_new = object.__new__
_value_of = Message.value


def records_from_messages(
    messages: list[Message], topic: str, partition: int, epoch: int
) -> list[Record]:
    """``Record.from_message`` over a run of one partition's messages: one loop here rather
    than a call per record."""
    records: list[Record] = []
    append = records.append
    for message in messages:
        record = _new(Record)
        record.topic = topic
        record.partition = partition
        record.epoch = epoch
        record._message = message
        append(record)
    return records


class RecordCursor:
    """Records for a per-message handler, one moved from message to message of a run:
    the worker's per-record path then costs an attribute store (``record._message =
    message``) instead of a new object and the garbage collector's work on it.

    A record may be moved on only while nothing but the worker's loop refers to it. The
    loop compares the record's reference count after each handler call with the count
    ``fresh`` returned; if the handler kept the record (in a list, a closure, another
    thread, an exception's traceback), the count is higher and the loop takes a fresh
    record, leaving the kept one as it is forever. CPython's own ``zip`` and
    ``dict.items()`` iterators reuse their result tuple on the same test. Records are
    read-only and take no weak references, so nothing can see one change under it.
    """

    __slots__ = ("_epoch", "_partition", "_topic")

    def __init__(self, topic: str, partition: int, epoch: int) -> None:
        self._topic = topic
        self._partition = partition
        self._epoch = epoch

    def fresh(self) -> tuple[Record, int]:
        """A new record of the run, and its reference count while one local variable
        holds it (taken the way the caller's loop takes it: ``getrefcount(record)``)."""
        record = _new(Record)
        record.topic = self._topic
        record.partition = self._partition
        record.epoch = self._epoch
        refs = getrefcount(record)  # a statement of its own: nothing else on the stack
        return record, refs


class _RunBacking:
    """The fetched messages of one run and, once a record was asked for, their records.
    ``offsets`` is None when the messages' offsets are consecutive from ``first`` (the
    usual case, which the consume loop can tell from the first and last message alone)."""

    __slots__ = ("epoch", "first", "messages", "offsets", "partition", "records", "topic")

    def __init__(
        self,
        messages: list[Message],
        first: int,
        offsets: list[int] | None,
        topic: str,
        partition: int,
        epoch: int,
    ) -> None:
        self.messages = messages
        self.first = first
        self.offsets = offsets
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self.records: list[Record] | None = None

    def offset_at(self, index: int) -> int:
        offsets = self.offsets
        return self.first + index if offsets is None else offsets[index]

    def offsets_between(self, start: int, stop: int) -> list[int]:
        offsets = self.offsets
        if offsets is None:
            first = self.first
            return list(range(first + start, first + stop))
        return offsets[start:stop]

    def materialise(self) -> list[Record]:
        records = self.records
        if records is None:
            records = self.records = records_from_messages(
                self.messages, self.topic, self.partition, self.epoch
            )
        return records


class RecordRun(Sequence[Record]):
    """Consecutive records of one partition (ascending offsets) as a read-only sequence,
    built over the messages one fetch returned: what the consume loop hands a dispatcher.

    The run's ``Record`` objects are built the first time any of them is read, all at once.
    A batch handler that takes the run as a whole (its length, or nothing at all) thus
    costs no Python object per record, which is most of what a no-op handler's agent spent
    per record (see docs/performance.md). A slice is a view over the same messages (no
    copy), so a lane hands out a long run piece by piece at constant cost per piece.
    Compare a run with a list of records by value (``run == [...]``).
    """

    __slots__ = ("_backing", "_start", "_stop")

    def __init__(
        self, messages: list[Message], offsets: list[int], topic: str, partition: int, epoch: int
    ) -> None:
        """``offsets`` are the messages' own, read already by the consume loop."""
        if len(messages) != len(offsets):
            raise ValueError(f"{len(messages)} messages but {len(offsets)} offsets")
        first = offsets[0] if offsets else 0
        self._backing = _RunBacking(messages, first, offsets, topic, partition, epoch)
        self._start = 0
        self._stop = len(messages)

    @classmethod
    def consecutive(
        cls, messages: list[Message], first: int, topic: str, partition: int, epoch: int
    ) -> RecordRun:
        """A run whose messages' offsets are ``first``, ``first + 1``, ... (the consume
        loop's usual case): no list of offsets is made unless one is asked for."""
        return cls._view(
            _RunBacking(messages, first, None, topic, partition, epoch), 0, len(messages)
        )

    @classmethod
    def _view(cls, backing: _RunBacking, start: int, stop: int) -> RecordRun:
        run = object.__new__(cls)
        run._backing = backing
        run._start = start
        run._stop = stop
        return run

    @property
    def topic(self) -> str:
        return self._backing.topic

    @property
    def partition(self) -> int:
        return self._backing.partition

    @property
    def tp(self) -> PartitionId:
        return (self._backing.topic, self._backing.partition)

    @property
    def epoch(self) -> int:
        return self._backing.epoch

    def messages(self) -> list[Message]:
        """The run's Kafka messages (a new list; no record is built)."""
        return self._backing.messages[self._start : self._stop]

    def cursor(self) -> RecordCursor:
        """Records for a per-message handler over ``messages()`` (see ``RecordCursor``)."""
        backing = self._backing
        return RecordCursor(backing.topic, backing.partition, backing.epoch)

    @property
    def offsets(self) -> list[int]:
        """The records' offsets, ascending (a new list; reading it builds no record)."""
        return self._backing.offsets_between(self._start, self._stop)

    @property
    def first_offset(self) -> int:
        return self._backing.offset_at(self._start)

    def payload_bytes(self) -> int:
        """The bytes of the run's values plus its first key times its length: one C-level
        pass over the values (no record is built); keys, small and mostly alike in size,
        are estimated from the first rather than read one by one on the consume path."""
        backing = self._backing
        messages = backing.messages
        if self._start or self._stop != len(messages):
            messages = messages[self._start : self._stop]
        if not messages:
            return 0
        key = messages[0].key()
        values: int = sum(map(len, filter(None, map(_value_of, messages))))
        return values + (len(key) if key else 0) * len(messages)

    @property
    def consecutive_from(self) -> int | None:
        """The first offset if the run's offsets are consecutive (no list needed), else None."""
        backing = self._backing
        if backing.offsets is None:
            return backing.first + self._start
        return None

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> RecordRun: ...

    def __getitem__(self, index: int | slice) -> Record | RecordRun:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._stop - self._start)
            if step != 1:
                raise ValueError("a RecordRun slice takes no step")
            stop = max(start, stop)
            return RecordRun._view(self._backing, self._start + start, self._start + stop)
        size = self._stop - self._start
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("RecordRun index out of range")
        return self._backing.materialise()[self._start + index]

    def __iter__(self) -> Iterator[Record]:
        records = self._backing.materialise()
        if self._start == 0 and self._stop == len(records):
            return iter(records)
        return iter(records[self._start : self._stop])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordRun | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __repr__(self) -> str:
        if self._start == self._stop:
            return f"RecordRun({self.topic}/{self.partition}, empty)"
        backing = self._backing
        return (
            f"RecordRun({self.topic}/{self.partition}, {len(self)} records, "
            f"offsets {backing.offset_at(self._start)}..{backing.offset_at(self._stop - 1)})"
        )

    @staticmethod
    def join(runs: Sequence[RecordRun]) -> RecordRun:
        """One run of consecutive ``runs`` of the same partition and epoch (each past the
        one before): adjacent views of one fetch stay a view; others are copied."""
        first = runs[0]
        if all(
            run._backing is first._backing and run._start == before._stop
            for before, run in pairwise(runs)
        ):
            return RecordRun._view(first._backing, first._start, runs[-1]._stop)
        messages: list[Message] = []
        offsets: list[int] = []
        for run in runs:
            if run.tp != first.tp or run.epoch != first.epoch:
                raise ValueError(f"cannot join {run!r} to {first!r}")
            messages += run.messages()
            offsets += run.offsets
        if offsets[-1] - offsets[0] + 1 == len(offsets):  # consecutive: completed as a range
            return RecordRun.consecutive(messages, offsets[0], *first.tp, first.epoch)
        return RecordRun(messages, offsets, first.topic, first.partition, first.epoch)


def offsets_of(records: Sequence[Record]) -> list[int]:
    """The offsets of ``records`` (without building a ``RecordRun``'s records)."""
    if type(records) is RecordRun:
        return records.offsets
    return [record.offset for record in records]


def _normalise_headers(raw: object) -> Headers:
    """confluent-kafka gives a list of (name, value) pairs, or None; values as bytes."""
    if not raw:
        return ()
    return tuple(
        (str(name), value if value is None or isinstance(value, bytes) else str(value).encode())
        for name, value in raw  # type: ignore[attr-defined]
    )
