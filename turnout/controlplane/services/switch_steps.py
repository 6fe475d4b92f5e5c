"""Recording the switch state machine's steps on a switch row, counted in the metrics.

Both writers of a switch use it: the request path (``switches``) and the leader's
watcher (``switch_watcher``). The caller holds the row lock and commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from turnout.controlplane.domain.switch_machine import Step, SwitchState
from turnout.controlplane.metrics import Metrics
from turnout.controlplane.models import Switch


def record_steps(metrics: Metrics, switch: Switch, steps: Sequence[Step], at: datetime) -> None:
    for step in steps:
        switch.enter(step, at)
        if step.state.terminal:
            metrics.switches.labels(step.state.value).inc()
            if step.state is SwitchState.COMPLETED:
                metrics.switch_seconds.observe((at - switch.requested_at).total_seconds())
