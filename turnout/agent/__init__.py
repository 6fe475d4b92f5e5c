"""The Turnout agent: the library embedded in a user's consumer process.

from turnout.agent import Agent, AgentConfig

config = AgentConfig(deployment="billing", colour="blue", instance="billing-1")
with Agent(config, handle):  # handle(record: Record) -> None
    ...  # runs in background threads until the block exits (stop drains and releases)

The names are imported when first used (PEP 562): importing a light part of the package
(``turnout.agent.cli`` for ``turnout --help``, ``turnout.agent.handlers``) does not load
the Kafka and ZooKeeper clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from turnout.agent.config import AgentConfig
    from turnout.agent.coordination import Agent, AgentState
    from turnout.agent.dispatch import (
        CommitPoint,
        DispatchContext,
        Dispatcher,
        DispatcherFactory,
        Handler,
    )
    from turnout.agent.handlers import batch_handler
    from turnout.agent.observer import AgentObserver
    from turnout.agent.processors.contract import INPUT_KEY, Output, Outputs, processor
    from turnout.agent.records import Record
    from turnout.agent.sequential import SequentialDispatcher
    from turnout.protocol.partitions import PartitionId

#: Exported name -> the module that defines it.
_HOMES = {
    "Agent": "turnout.agent.coordination",
    "AgentConfig": "turnout.agent.config",
    "AgentObserver": "turnout.agent.observer",
    "AgentState": "turnout.agent.coordination",
    "CommitPoint": "turnout.agent.dispatch",
    "DispatchContext": "turnout.agent.dispatch",
    "Dispatcher": "turnout.agent.dispatch",
    "DispatcherFactory": "turnout.agent.dispatch",
    "Handler": "turnout.agent.dispatch",
    "INPUT_KEY": "turnout.agent.processors.contract",
    "Output": "turnout.agent.processors.contract",
    "Outputs": "turnout.agent.processors.contract",
    "PartitionId": "turnout.protocol.partitions",
    "Record": "turnout.agent.records",
    "SequentialDispatcher": "turnout.agent.sequential",
    "batch_handler": "turnout.agent.handlers",
    "processor": "turnout.agent.processors.contract",
}

__all__ = [
    "INPUT_KEY",
    "Agent",
    "AgentConfig",
    "AgentObserver",
    "AgentState",
    "CommitPoint",
    "DispatchContext",
    "Dispatcher",
    "DispatcherFactory",
    "Handler",
    "Output",
    "Outputs",
    "PartitionId",
    "Record",
    "SequentialDispatcher",
    "batch_handler",
    "processor",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'turnout.agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain one
    return value
