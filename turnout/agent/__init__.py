"""The Turnout agent: the library embedded in a user's consumer process.

from turnout.agent import Agent, AgentConfig

config = AgentConfig(deployment="billing", colour="blue", instance="billing-1")
with Agent(config, handle):  # handle(record: Record) -> None
    ...  # runs in background threads until the block exits (stop drains and releases)
"""

from turnout.agent.config import AgentConfig
from turnout.agent.coordination import Agent, AgentState
from turnout.agent.dispatch import (
    CommitPoint,
    DispatchContext,
    Dispatcher,
    DispatcherFactory,
    Handler,
)
from turnout.agent.observer import AgentObserver
from turnout.agent.records import Record
from turnout.agent.sequential import SequentialDispatcher
from turnout.protocol.partitions import PartitionId

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentObserver",
    "AgentState",
    "CommitPoint",
    "DispatchContext",
    "Dispatcher",
    "DispatcherFactory",
    "Handler",
    "PartitionId",
    "Record",
    "SequentialDispatcher",
]
