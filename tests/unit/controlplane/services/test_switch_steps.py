from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry

from tests.unit.controlplane.rows import AT, deployment_row, switch_row
from turnout.controlplane.domain.switch_machine import Step, SwitchState
from turnout.controlplane.metrics import Metrics
from turnout.controlplane.services.switch_steps import record_steps


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_a_completed_switch_is_counted_with_its_duration() -> None:
    metrics = Metrics()
    switch = switch_row(deployment_row(), state="releasing")
    steps = [Step(SwitchState.CLAIMING), Step(SwitchState.COMPLETED)]
    record_steps(metrics, switch, steps, AT + timedelta(seconds=2))
    assert switch.state == "completed" and switch.in_flight is None
    assert sample(metrics.registry, "turnout_switches_total", state="completed") == 1
    assert sample(metrics.registry, "turnout_switch_seconds_sum") == 2.0


def test_steps_short_of_an_end_count_nothing() -> None:
    metrics = Metrics()
    switch = switch_row(deployment_row(), state="directive_written")
    record_steps(metrics, switch, [Step(SwitchState.RELEASING)], AT)
    assert switch.state == "releasing"
    assert sample(metrics.registry, "turnout_switch_seconds_count") == 0
    for state in ("completed", "failed", "timed_out"):
        assert sample(metrics.registry, "turnout_switches_total", state=state) == 0
