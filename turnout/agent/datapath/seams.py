"""What the data path gets from the agent around it: ``DataPathContext``.

The coordination package implements its three protocols (``Session``, ``EventIntake``,
``StatusBoard``); the data path imports nothing of it, so it can be built and tested on
its own.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Protocol

from turnout.agent.config import AgentConfig
from turnout.agent.environment import AgentEnvironment
from turnout.agent.lease import Lease
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.agent.observer import AgentObserver
from turnout.protocol import DeploymentPaths
from turnout.zk import ZkGateway


class SessionView(Protocol):
    """The ZooKeeper session every ownership belongs to."""

    @property
    def gateway(self) -> ZkGateway | None:
        """The gateway (None before the first connect and after the stop)."""

    @property
    def lease(self) -> Lease:
        """The session's lease: no commit, claim stamp or record start without a valid one."""

    @property
    def old_sessions(self) -> Set[int]:
        """Earlier sessions of this agent, whose leftover owner nodes may be replaced."""


class Requests(Protocol):
    """Work the data path could not finish and asks the agent thread's next steps to do.
    ``retry_claims`` is also called from kazoo's event thread (an owner node went)."""

    def reconcile_soon(self) -> None:
        """Reconcile soon: something could not be finished now."""

    def retry_claims(self) -> None:
        """Try the pending claims again: an owner node they waited for went away."""

    def request_sweep(self) -> None:
        """Owner nodes may exist that this session created but does not track."""


class Reports(Protocol):
    """Where the data path reports what the agent's status shows."""

    def report_error(self, message: str) -> None:
        """A problem: logged and listed in ``status().errors``."""

    def mark_changed(self) -> None:
        """What the status shows (the partitions held) has changed."""


@dataclass(frozen=True)
class DataPathContext:
    """What every part of the data path is built with."""

    config: AgentConfig
    paths: DeploymentPaths
    environment: AgentEnvironment
    session: SessionView
    requests: Requests
    reports: Reports
    metrics: AgentMetrics
    observer: AgentObserver | None
    log: ContextLog
