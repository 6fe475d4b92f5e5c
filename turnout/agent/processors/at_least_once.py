"""At-least-once processing: an input counts complete only once every output it caused
is acknowledged.

The runner turns a processor into a plain handler for the work manager: it calls the
processor, writes what it emitted, and returns only when every one of those records is
acknowledged (idempotent producers, ``acks=all``). Two ways, chosen when it is built:
through a producer of the call's own, confirmed by flushing it, with a report for
failures only (``confirmed_writes``: the default); or through one shared
:class:`~turnout.producer.Producer`, with one
:class:`~turnout.producer.DeliveryCountdown` per call counted down by the records'
delivery reports (needed where each output's offset is noted: a mirror's). So the work
manager's highest-contiguous commit point, which counts a record complete when its
handler returns, never passes an input whose outputs are not written, under every
ordering mode, with no new bookkeeping.

Per input (a per-record processor) or per run (a batch processor)::

    calling ──processor raised──▶ failed (the failure policy retries or decides)
    calling ──returned──▶ sending: every output produced, in emit order
    sending ──the producer's queue is full──▶ blocked (the producer's ``block`` policy,
        bounded by its ``queue_full_timeout_s``): the worker waits, so the work manager's
        in-flight bound fills and the input's fetch pauses; past the bound the send
        raises QueueFullError ──▶ failed
    sending ──all sent──▶ waiting for the confirmation (or the countdown), at most
        ``OUTPUT_ACK_TIMEOUT_S``
    waiting ──all acknowledged──▶ complete (the handler returns)
    waiting ──one or more failed (the first failure is raised), or the wait timed out──▶
        failed: the input is retried and its outputs written again (at least once: a
        retry may duplicate outputs acknowledged before the failure)

The role decides the topics (``routing.py``) and is read once per call, before sending.
With a ``WriteObserver`` (an ``OutputTarget``'s) each delivery report also notes its
offset, and a complete call tells the observer the lowest and highest acknowledged
offsets of each partition written to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from turnout.agent.processors.contract import Output, Outputs
from turnout.agent.processors.emitting import resolved
from turnout.agent.processors.output_target import (
    OffsetSpan,
    TargetPartition,
    WriteObserver,
    noting_offsets,
)
from turnout.agent.processors.routing import Routes
from turnout.agent.records import Record
from turnout.producer import CountingProducer, DeliveryCountdown, Write
from turnout.protocol.models import Role

#: How long a handler call waits for its outputs' acknowledgements before it counts as
#: failed. The producer fails a record itself after its delivery timeout (minutes, to ride
#: out a leader election); this bound is what the retry policy sees, short enough that a
#: stuck cluster shows as failures, long enough for a broker restart's leader moves.
OUTPUT_ACK_TIMEOUT_S = 60.0
#: Records per call of a batch processor at most (the runner asks the work manager for
#: runs this large instead of its ``batch_size``). Each call waits once for its outputs'
#: acknowledgements and a partition has one call in flight at a time (per-partition
#: order), so a partition moves at most this many records per acknowledgement round trip:
#: with the manager's 500 that round trip (tens of milliseconds on a loaded machine) was
#: the bound. A call never waits for a run to fill, and a failed call is retried whole:
#: at most this many inputs' outputs are written again.
ACKNOWLEDGED_RUN_RECORDS = 5000

#: A processor as the user writes it: ``(record, out)`` or ``(records, out)``.
ProcessorFunction = Callable[[object, Outputs], object]


class OutputsNotAcknowledged(Exception):
    """Some outputs of an input were not acknowledged in time (retryable)."""


class ConfirmedOutputs(Protocol):
    """Writes a call's resolved outputs and returns once each is acknowledged, raising
    the first failure or ``OutputsNotAcknowledged`` (``confirmed_writes``)."""

    def write(self, writes: Sequence[Write], timeout_s: float) -> None: ...


class AtLeastOnceRunner:
    """Runs a processor as a work-manager handler (see the module docstring). Outputs go
    through ``confirmed`` if given (no report per record; ``confirmed_writes``), else
    through ``producer``, counted down by its reports (needed with an ``observer``, which
    notes each output's offset). Without either (a deployment with no outputs) every
    emitted output is refused by routing."""

    def __init__(
        self,
        function: ProcessorFunction,
        routes: Routes,
        role: Callable[[], Role | None],
        producer: CountingProducer | None,
        *,
        ack_timeout_s: float = OUTPUT_ACK_TIMEOUT_S,
        observer: WriteObserver | None = None,
        confirmed: ConfirmedOutputs | None = None,
    ) -> None:
        if confirmed is not None and observer is not None:
            raise ValueError("an observer needs each output's report: give a producer")
        self._function = function
        self._confirmed = confirmed
        self._observer = observer
        self._routes = routes
        self._role = role
        self._producer = producer
        self._ack_timeout_s = ack_timeout_s

    def handle(self, record: Record) -> None:
        """The per-record handler: process ``record``, write its outputs, wait for them."""
        out = Outputs()
        emitted = out.emitted(self._function(record, out))
        if emitted:
            self._write(emitted, record.key, False, (record,))

    def handle_batch(self, records: Sequence[Record]) -> None:
        """The batch handler: the same for a run of consecutive records of one lane."""
        out = Outputs()
        emitted = out.emitted(self._function(records, out))
        if emitted:
            self._write(emitted, None, True, records)

    def _write(
        self,
        emitted: list[Output],
        input_key: bytes | None,
        per_batch: bool,
        records: Sequence[Record],
    ) -> None:
        # Every output resolved (topic, key) before the first is produced.
        writes = resolved(emitted, input_key, per_batch, self._role(), self._routes.topic)
        if self._confirmed is not None:
            self._confirmed.write(writes, self._ack_timeout_s)
            return
        producer = self._producer
        assert producer is not None  # routing refused every output without one
        countdown = DeliveryCountdown(len(writes))
        report = producer.reporting_to(countdown)
        spans: dict[TargetPartition, OffsetSpan] = {}
        if self._observer is not None:
            report = noting_offsets(report, spans)
        producer.produce_writes(writes, report)
        if not countdown.wait(self._ack_timeout_s):
            raise OutputsNotAcknowledged(
                f"{countdown.remaining} of {countdown.expected} outputs not acknowledged "
                f"within {self._ack_timeout_s} s"
            )
        if countdown.failures:
            raise countdown.failures[0]
        if self._observer is not None:
            self._observer.written(records, spans)
