"""What every part of the coordination is built with (``AgentLoop`` builds it)."""

from __future__ import annotations

from dataclasses import dataclass

from turnout.agent.config import AgentConfig
from turnout.agent.coordination.intake import EventIntake
from turnout.agent.coordination.status_board import StatusBoard
from turnout.agent.environment import AgentEnvironment
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.protocol import DeploymentPaths


@dataclass(frozen=True)
class CoordinationContext:
    config: AgentConfig
    paths: DeploymentPaths
    environment: AgentEnvironment
    intake: EventIntake
    board: StatusBoard
    metrics: AgentMetrics
    observer: AgentObserver | None
    log: ContextLog
