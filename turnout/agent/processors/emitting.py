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


def writes_of(
    function: ProcessorCall,
    unit: object,
    input_key: bytes | None,
    per_batch: bool,
    role: Role | None,
    topic: Callable[[str, Role | None], str],
) -> list[Write]:
    """Call ``function`` on ``unit`` (a record, or a batch when ``per_batch``) and resolve
    its outputs, as ``Producer.produce_writes`` takes them; raises ``ProcessorRaised``
    for any failure. Outputs mostly name one output: its topic is resolved once per
    name, not once per output."""
    out = Outputs()
    try:
        emitted = out.emitted(function(unit, out))
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
                key = _input_key(output, input_key, per_batch)
            partition = output.partition
            append((to, output.value, key, PARTITION_ANY if partition is None else partition,
                    output.timestamp_ms or 0, output.headers))  # fmt: skip
        return writes
    except Exception as exc:
        raise ProcessorRaised(exc) from exc


def _input_key(output: Output, input_key: bytes | None, per_batch: bool) -> bytes | None:
    if per_batch:
        raise ValueError(f"a batch processor's output to {output.output!r} must give its key")
    return input_key
