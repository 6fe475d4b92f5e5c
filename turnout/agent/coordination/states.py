"""The agent's states, as ``Agent.state`` and the status znode show them.

Transitions, and the module that makes each::

    STARTING ──session + instance node──▶ REGISTERED                        (session)
    REGISTERED ──first reconcile──▶ RUNNING                                 (reconciler)
    RUNNING ◀──▶ REBALANCING  releases and claims in progress, or a claim waits
                              for the previous owner's node to go           (reconciler)
    RUNNING ◀──▶ PAUSED       directive paused: ownership kept, nothing processed
    any live ──lease deadline passed──▶ FENCED ──renewed, same session──▶ back  (fence)
    any live ──session LOST──▶ REJOINING: ownership dropped without committing (fence)
             ──new session + instance node──▶ REGISTERED                    (session)
    any ──stop()──▶ STOPPING ──drain, commit, release, deregister──▶ STOPPED     (loop)
    any ──unexpected error in the agent thread──▶ FAILED: the session is closed,
                                                  and its ephemerals go with it (loop)

A standby instance is RUNNING and owns nothing (its consumer of the live group stays
open: ``reconciler``).
"""

from __future__ import annotations

from enum import StrEnum


class AgentState(StrEnum):
    STARTING = "STARTING"
    REGISTERED = "REGISTERED"
    RUNNING = "RUNNING"
    REBALANCING = "REBALANCING"
    PAUSED = "PAUSED"
    FENCED = "FENCED"
    REJOINING = "REJOINING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
