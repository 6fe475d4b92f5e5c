"""The work manager: ordered fan-out, retries, failure decisions, dead letters and
highest-contiguous commit points, as a ``Dispatcher`` for the agent (issue 4).

See docs/work-management.md.
"""

from turnout.agent.work.config import DeadLetterConfig, Ordering, WorkConfig
from turnout.agent.work.dead_letters import DeadLetterProducer, DeadLetterSink
from turnout.agent.work.manager import WorkManager
from turnout.agent.work.outcomes import (
    AttemptTimedOut,
    Escalation,
    EscalationAction,
    FailedDecision,
    Failure,
    PermanentFailure,
)
from turnout.agent.work.plug import work_manager_factory

__all__ = [
    "AttemptTimedOut",
    "DeadLetterConfig",
    "DeadLetterProducer",
    "DeadLetterSink",
    "Escalation",
    "EscalationAction",
    "FailedDecision",
    "Failure",
    "Ordering",
    "PermanentFailure",
    "WorkConfig",
    "WorkManager",
    "work_manager_factory",
]
