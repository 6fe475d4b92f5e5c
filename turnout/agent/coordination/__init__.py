"""The agent's coordination: which partitions this instance should hold, and keeping its
right to hold them. ``Agent`` is the public face; ``AgentLoop`` the agent thread's work;
the session, the fence, the event intake, the reconciler and the status are its parts,
each module with its state machine.
"""

from turnout.agent.coordination.agent import Agent
from turnout.agent.coordination.loop import DEFAULT_STOP_TIMEOUT_S, AgentLoop
from turnout.agent.coordination.states import AgentState

__all__ = ["DEFAULT_STOP_TIMEOUT_S", "Agent", "AgentLoop", "AgentState"]
