"""Verification toolkit: event logs, a logging handler and the history checker.

Integration tests of the agent, the control plane's end-to-end tests and the benchmarks
run real processes that write JSON-lines logs (``EventLog``, ``ProducedLog``), read them
back (``read_history``) and judge them with ``check`` (docs/verification.md).
"""

from turnout.verify.checker import check
from turnout.verify.events import (
    Claimed,
    Committed,
    Event,
    Fenced,
    Processed,
    Produced,
    Released,
)
from turnout.verify.handler import make_verifying_handler
from turnout.verify.log import (
    EventLog,
    History,
    InstanceEventLog,
    ProducedLog,
    read_events,
    read_history,
    read_produced,
)
from turnout.verify.outputs import OutputReport, judge_outputs, read_outputs
from turnout.verify.report import MAX_EXAMPLES, Anomaly, CheckReport, Duplicates

__all__ = [
    "MAX_EXAMPLES",
    "Anomaly",
    "CheckReport",
    "Claimed",
    "Committed",
    "Duplicates",
    "Event",
    "EventLog",
    "Fenced",
    "History",
    "InstanceEventLog",
    "OutputReport",
    "Processed",
    "Produced",
    "ProducedLog",
    "Released",
    "check",
    "judge_outputs",
    "make_verifying_handler",
    "read_events",
    "read_history",
    "read_outputs",
    "read_produced",
]
