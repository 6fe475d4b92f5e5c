"""What the agent shows about itself as it happens: its state, its recent errors, and
the last status composed (``Agent.status()``).

Every part reports here on the agent thread (``set_state``, ``report_error``,
``mark_changed``); ``changed`` tells the status publisher the znode is out of date.
``shown`` is read from any thread.
"""

from __future__ import annotations

import collections
import threading

from turnout.agent.config import AgentConfig
from turnout.agent.coordination.states import AgentState
from turnout.agent.logs import ContextLog
from turnout.agent.metrics import AgentMetrics
from turnout.protocol import InstanceStatus
from turnout.protocol.models import utc_now

#: Recent errors kept for ``status().errors``.
MAX_ERRORS = 20


class StatusBoard:
    def __init__(self, config: AgentConfig, metrics: AgentMetrics, log: ContextLog) -> None:
        self._log = log
        self.state = AgentState.STARTING
        #: Something the status shows changed since the status znode was last written.
        self.changed = True
        self._errors: collections.deque[str] = collections.deque(maxlen=MAX_ERRORS)
        #: The processing settings version the agent runs with (None: its code's), and
        #: why the newest version was refused (None: not refused).
        self.processing_version: int | None = None
        self.processing_refused: str | None = None
        self._lock = threading.Lock()
        self._shown = InstanceStatus(
            instance=config.instance,
            colour=config.colour,
            version=config.version,
            epoch=0,
            state=str(self.state),
            owned=(),
            fenced=False,
            counters=metrics.snapshot(),
            errors=(),
        )

    def set_state(self, state: AgentState) -> None:
        if state is not self.state:
            self._log.info(
                "state %s -> %s",
                self.state,
                state,
                extra={"event": "state", "from": str(self.state), "to": str(state)},
            )
            self.state = state
            self.changed = True

    def report_error(self, message: str) -> None:
        stamp = utc_now().strftime("%H:%M:%S")
        self._errors.append(f"{stamp} {message}")
        self.changed = True
        self._log.warning(message, extra={"event": "error"})

    def set_processing(self, version: int | None, refused: str | None) -> None:
        self.processing_version = version
        self.processing_refused = refused
        self.changed = True

    def mark_changed(self) -> None:
        self.changed = True

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def show(self, status: InstanceStatus) -> None:
        with self._lock:
            self._shown = status

    def shown(self) -> InstanceStatus:
        with self._lock:
            return self._shown
