"""The processor contract: how a handler emits output records.

A *processor* is a handler marked ``@processor``. The agent calls it as
``fn(record, out)`` (marked ``@batch_handler`` too: ``fn(records, out)``, with the
consecutive records of one ordering lane). It emits output records two ways, which mix:

- ``out.send(output, value, key=..., headers=...)`` while it runs;
- returning an :class:`Output`, an iterable of them, or ``None``.

Emitted records are written sent first (in send order), then returned (in return order).
An output names a *logical* output (``"enriched"``); the deployment's processing settings
map each to a topic per role (``outputs: {name: {live: topic, preview: topic}}``), so the
code never names a topic and a colour in the preview role can never write to production's.

Keys: an output's key defaults to :data:`INPUT_KEY`, the key of the input record that
caused it, which keeps per-key order from input to output. ``key=None`` writes no key. A
batch processor's outputs have no single input, so they must give their key (``None``
included); :data:`INPUT_KEY` there is refused.

Partition and timestamp: by default the producer's partitioner chooses (by key) and the
record is stamped when written; ``partition`` and ``timestamp_ms`` set them, for
processors that must keep a source record's place and time (the mirror).

Values, keys and header values are ``bytes`` or ``str`` (written as UTF-8); serializing
anything else is the processor's, so that the per-record path pays for nothing it did
not ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Final, NamedTuple, TypeVar

#: The attribute ``processor`` sets on the function.
PROCESSOR_MARK = "__turnout_processor__"

F = TypeVar("F", bound=Callable[..., object])


class _InputKey(Enum):
    INPUT_KEY = "the input record's key"


#: An output's default key: the key of the input record that caused it.
INPUT_KEY: Final = _InputKey.INPUT_KEY

#: Record headers as the producer takes them (``turnout.producer.Headers``, spelled out
#: here so that the contract loads without the Kafka client).
Headers = dict[str, bytes | str | None] | list[tuple[str, bytes | str | None]]

#: What an output key may be.
OutputKey = bytes | str | None | _InputKey


class Output(NamedTuple):
    """One output record, to the logical output ``output``. Read-only.

    A named tuple rather than a frozen dataclass: a processor makes one per output, and a
    frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) costs about
    three times a tuple's construction, on the path every record takes. Being a tuple,
    an ``Output`` is also iterable; a processor's returned value is read as one output
    when it is an ``Output``, before it is read as an iterable of them
    (``Outputs.emitted``).
    """

    output: str
    value: bytes | str | None
    key: OutputKey = INPUT_KEY
    headers: Headers | None = None
    #: The partition to write to; None: the partitioner's choice (by key).
    partition: int | None = None
    #: The record's timestamp, milliseconds since the epoch; 0: when it is written.
    timestamp_ms: int = 0


class EmitError(TypeError):
    """A processor emitted something that is not an output record (a handler failure)."""


class Outputs:
    """What a processor sends its outputs through: one per call, given as ``out``."""

    __slots__ = ("_sent",)

    def __init__(self) -> None:
        self._sent: list[Output] = []

    def send(
        self,
        output: str,
        value: bytes | str | None,
        key: OutputKey = INPUT_KEY,
        headers: Headers | None = None,
    ) -> None:
        """Emit one record to the logical output ``output``."""
        self._sent.append(Output(output, value, key, headers))

    def emitted(self, returned: object) -> list[Output]:
        """Everything emitted by the call that returned ``returned``: sent, then returned."""
        if returned is None:
            return self._sent
        if isinstance(returned, Output):
            return [*self._sent, returned]
        if isinstance(returned, str | bytes) or not isinstance(returned, Iterable):
            raise EmitError(_not_outputs(returned))
        items = list(returned)
        for item in items:
            if not isinstance(item, Output):
                raise EmitError(_not_outputs(item))
        return [*self._sent, *items]


def _not_outputs(value: object) -> str:
    return (
        "a processor returns an Output, an iterable of Outputs, or None; "
        f"got {type(value).__name__}"
    )


def processor(function: F) -> F:
    """Mark ``function`` as a processor: called with ``(record, out)``, it emits outputs."""
    setattr(function, PROCESSOR_MARK, True)
    return function


def is_processor(function: object) -> bool:
    return bool(getattr(function, PROCESSOR_MARK, False))
