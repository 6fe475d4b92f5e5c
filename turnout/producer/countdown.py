"""Waiting for a batch of messages' deliveries with one counter and one event, instead of
a future per message.

A caller that writes a batch and only needs to know whether all of it was acknowledged
(an at-least-once processor, before its input counts complete) pays per message for a
counter decrement in the delivery report, and per batch for one :class:`DeliveryCountdown`
and one report callback (:meth:`~turnout.producer.Producer.reporting_to`), passed with each
:meth:`~turnout.producer.Producer.produce_writes` (or ``produce_reported``).

States of a countdown of ``expected`` messages::

    COUNTING ──a report (acknowledged or failed), not the last──▶ COUNTING
    COUNTING ──the last report──▶ DONE: ``wait`` returns True; ``failures`` holds every
        failed message's error, in report order (empty: every message acknowledged)
    (expected 0: DONE from the start)

Reports are served one at a time (the producer's serving turn), so the counts have one
writer at a time; the event hands them to the waiting thread. A message whose produce
call raised is never reported: its caller knows it failed, and abandons the countdown
(``wait`` would run out its timeout).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from turnout.producer.errors import ProducerError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from turnout.producer.producer import Write
    from turnout.producer.reports import ReportCallback


class DeliveryCountdown:
    """Counts a batch's delivery reports down to zero (see the module)."""

    __slots__ = ("_done", "acknowledged_count", "expected", "failures", "remaining")

    def __init__(self, expected: int) -> None:
        self.expected = expected
        #: Reports still to come (read it for a message; only ``wait`` synchronises).
        self.remaining = expected
        self.acknowledged_count = 0
        self.failures: list[ProducerError] = []
        self._done = threading.Event()
        if expected <= 0:
            self._done.set()

    def acknowledged(self) -> None:
        """One message was acknowledged (called from the delivery report, once per
        message: ``_counted`` is spelled out here rather than called)."""
        self.acknowledged_count += 1
        self.remaining -= 1
        if self.remaining == 0:
            self._done.set()

    def failed(self, error: ProducerError) -> None:
        """One message failed with ``error`` (called from the delivery report)."""
        self.failures.append(error)
        self._counted()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for every report; True once all came."""
        return self._done.wait(timeout_s)

    def _counted(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self._done.set()


class CountingProducer(Protocol):
    """What a batch writer needs of a producer (``turnout.producer.Producer`` is one)."""

    def reporting_to(self, countdown: DeliveryCountdown) -> ReportCallback: ...

    def produce_writes(
        self, writes: Sequence[Write], report: ReportCallback | None = ...
    ) -> None: ...
