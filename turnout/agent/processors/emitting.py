"""What one processor call writes under ``exactly_once``: its outputs resolved to
(topic, value, key, partition, timestamp, headers) before the first is produced.

Resolving first keeps a failing call out of the open transaction: if the processor
raises, or an output names an unknown output or (in a batch) no key, nothing of the call
was produced, so the transaction still holds exactly the records before it and may be
committed (``ProcessorRaised``). Outputs a processor sent before raising are dropped with
its ``Outputs``.
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.agent.processors.contract import INPUT_KEY, Output, Outputs
from turnout.producer import PARTITION_ANY, Write
from turnout.protocol.models import Role

ProcessorCall = Callable[[object, Outputs], object]


class ProcessorRaised(Exception):
    """The processor (or what it emitted) failed before any of its outputs was produced:
    the open transaction holds only the records before it (``at``, set by the runner)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(repr(cause))
        self.cause = cause
        self.at = 0


class BatchOutputKeyError(ValueError):
    """A batch processor's output left its key as ``INPUT_KEY``, which a batch lacks."""


def writes_of(
    function: ProcessorCall,
    unit: object,
    input_key: bytes | None,
    per_batch: bool,
    role: Role | None,
    topic: Callable[[str, Role | None], str],
) -> list[Write]:
    """Call ``function`` on ``unit`` (a record, or a batch when ``per_batch``) and resolve
    its outputs (``resolved``); raises ``ProcessorRaised`` for any failure."""
    out = Outputs()
    try:
        return resolved(out.emitted(function(unit, out)), input_key, per_batch, role, topic)
    except Exception as exc:
        raise ProcessorRaised(exc) from exc


def resolved(
    emitted: list[Output],
    input_key: bytes | None,
    per_batch: bool,
    role: Role | None,
    topic: Callable[[str, Role | None], str],
) -> list[Write]:
    """``emitted`` as ``Producer.produce_writes`` takes them: each output's topic for
    ``role``, and its key (``INPUT_KEY``: ``input_key``; refused in a batch, with
    ``BatchOutputKeyError``). Outputs mostly name one output: its topic is resolved
    once per name, not once per output."""
    topics: dict[str, str] = {}
    writes: list[Write] = []
    append = writes.append
    for output in emitted:
        name = output.output
        to = topics.get(name)
        if to is None:
            to = topics[name] = topic(name, role)
        key = output.key
        if key is INPUT_KEY:
            if per_batch:
                raise BatchOutputKeyError(
                    f"a batch processor's output to {output.output!r} must give its key"
                )
            key = input_key
        partition = output.partition
        append((to, output.value, key, PARTITION_ANY if partition is None else partition,
                output.timestamp_ms or 0, output.headers))  # fmt: skip
    return writes
