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

from turnout.agent.processors.contract import INPUT_KEY, Headers, Output, Outputs
from turnout.protocol.models import Role

ProcessorCall = Callable[[object, Outputs], object]
#: One output as the producer takes it: topic, value, key, partition (None: the
#: partitioner's), timestamp in ms (None: now), headers.
Write = tuple[str, bytes | str | None, bytes | str | None, int | None, int | None, Headers | None]


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
    its outputs; raises ``ProcessorRaised`` for any failure."""
    out = Outputs()
    try:
        emitted = out.emitted(function(unit, out))
        return [
            (topic(output.output, role), output.value, _key(output, input_key, per_batch),
             output.partition, output.timestamp_ms, output.headers)
            for output in emitted
        ]  # fmt: skip
    except Exception as exc:
        raise ProcessorRaised(exc) from exc


def _key(output: Output, input_key: bytes | None, per_batch: bool) -> bytes | str | None:
    if output.key is not INPUT_KEY:
        return output.key
    if per_batch:
        raise ValueError(f"a batch processor's output to {output.output!r} must give its key")
    return input_key
