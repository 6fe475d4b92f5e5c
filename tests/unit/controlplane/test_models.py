"""The rows' mappings to the protocol: roles, the live colour, paths, desired state, steps."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.controlplane.rows import AT, deployment_row, switch_row
from turnout.controlplane.domain.switch_machine import Step, SwitchState, directive_written
from turnout.protocol import AbsentPinPolicy, Binding, Colour, Role, Strategy


def test_roles_and_the_active_colour_come_from_the_colours_column() -> None:
    deployment = deployment_row()
    assert deployment.roles() == {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY}
    assert deployment.active_colour() is Colour.BLUE


def test_make_live_swaps_the_roles_and_keeps_the_versions() -> None:
    deployment = deployment_row(
        preview={"group": "billing-preview", "topics": ["payments-mirror"]},
        colours={
            "blue": {"version": "1.4.0", "role": "live"},
            "green": {"version": "1.5.0", "role": "preview"},
        },
    )
    deployment.make_live(Colour.GREEN)
    assert deployment.roles() == {Colour.BLUE: Role.PREVIEW, Colour.GREEN: Role.LIVE}
    assert deployment.colours["green"]["version"] == "1.5.0"
    deployment.make_live(Colour.BLUE)
    assert deployment.roles() == {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.PREVIEW}


def test_paths_live_under_the_clusters_zookeeper_root() -> None:
    deployment = deployment_row()
    assert deployment.paths().base == "/turnout/deployments/billing"
    assert deployment.paths().directive == "/turnout/deployments/billing/directive"


def test_desired_state_carries_every_field_of_intent() -> None:
    deployment = deployment_row(
        preview={"group": "billing-preview", "topics": ["payments-mirror"]},
        strategy="manual",
        pins={"payments/0": "blue-1"},
        absent_pin_policy="fallback",
        paused=True,
        drain_timeout_ms=2500,
    )
    desired = deployment.desired_state()
    assert desired.deployment == "billing"
    assert desired.live == Binding(group="billing", topics=("payments",))
    assert desired.preview == Binding(group="billing-preview", topics=("payments-mirror",))
    assert desired.roles == {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY}
    assert desired.strategy is Strategy.MANUAL
    assert desired.pins == {"payments/0": "blue-1"}
    assert desired.absent_pin_policy is AbsentPinPolicy.FALLBACK
    assert desired.paused is True and desired.drain_timeout_ms == 2500
    directive = desired.directive(epoch=9, operation_id="op-1")
    assert directive.epoch == 9 and directive.operation_id == "op-1"
    assert directive.live_colour is Colour.BLUE


def test_a_deployment_without_preview_binding_desires_none() -> None:
    assert deployment_row().desired_state().preview is None


def test_entering_a_step_records_the_state_and_its_phase() -> None:
    switch = switch_row(deployment_row(), state="pending", epoch=None)
    written_at = AT + timedelta(milliseconds=20)
    switch.enter(directive_written(SwitchState.PENDING), written_at)
    assert switch.state == "directive_written"
    assert switch.in_flight is True and switch.finished_at is None
    written = next(p for p in switch.phases if p["name"] == "directive_written")
    assert written["ended_at"] == written_at.isoformat()


def test_entering_a_terminal_step_ends_the_switch_and_frees_the_in_flight_slot() -> None:
    switch = switch_row(deployment_row(), state="releasing")
    ended_at = AT + timedelta(seconds=61)
    switch.enter(Step(SwitchState.TIMED_OUT, "old colour still owned 1 of 4"), ended_at)
    assert switch.state == "timed_out"
    assert switch.reason == "old colour still owned 1 of 4"
    assert switch.finished_at == ended_at
    assert switch.in_flight is None
