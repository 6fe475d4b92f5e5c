"""The work manager: ordered fan-out, retries, failure decisions, dead letters and
highest-contiguous commit points, as a ``Dispatcher`` for the agent.

``manager.py`` lists the pieces; docs/work-management.md says how to use it and why.
"""

from turnout.agent.work.config import DeadLetterConfig, WorkConfig
from turnout.agent.work.dead_letters import DeadLetterProducer, DeadLetterSink
from turnout.agent.work.deployment import CodePolicy, plan_from_settings
from turnout.agent.work.factory import work_manager_factory
from turnout.agent.work.manager import WorkManager
from turnout.agent.work.outcomes import (
    AttemptTimedOut,
    Escalation,
    EscalationAction,
    FailedDecision,
    Failure,
    PermanentFailure,
    RecordFailed,
)
from turnout.protocol.processing import Ordering

__all__ = [
    "AttemptTimedOut",
    "CodePolicy",
    "DeadLetterConfig",
    "DeadLetterProducer",
    "DeadLetterSink",
    "Escalation",
    "EscalationAction",
    "FailedDecision",
    "Failure",
    "Ordering",
    "PermanentFailure",
    "RecordFailed",
    "WorkConfig",
    "WorkManager",
    "plan_from_settings",
    "work_manager_factory",
]
