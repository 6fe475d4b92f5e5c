from __future__ import annotations

from turnout.controlplane.domain.desired_state import DesiredState, same_intent
from turnout.protocol import AbsentPinPolicy, Binding, Colour, Role, Strategy
from turnout.protocol.processing import ProcessingSettings


def desired(**changes: object) -> DesiredState:
    values: dict[str, object] = {
        "deployment": "billing",
        "live": Binding(group="billing", topics=("payments",)),
        "preview": None,
        "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        "strategy": Strategy.RANGE,
        "pins": {},
        "absent_pin_policy": AbsentPinPolicy.LEAVE_UNOWNED,
        "paused": False,
        "drain_timeout_ms": 10_000,
        "processing": ProcessingSettings(),
    }
    return DesiredState(**(values | changes))  # type: ignore[arg-type]


def test_directives_that_differ_only_in_bookkeeping_have_the_same_intent() -> None:
    state = desired()
    assert same_intent(state.directive(3, None), state.directive(9, "switch-1"))


def test_any_field_of_intent_makes_a_different_directive() -> None:
    base = desired().directive(3, None)
    changed = [
        desired(paused=True),
        desired(roles={Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE}),
        desired(pins={"payments/0": "blue-1"}),
        desired(drain_timeout_ms=1),
        desired(processing=ProcessingSettings(version=2, workers=32)),
        desired(live=Binding(group="billing", topics=("payments", "refunds"))),
    ]
    for state in changed:
        assert not same_intent(base, state.directive(3, None)), state


def test_the_directive_carries_the_processing_settings() -> None:
    settings = ProcessingSettings(version=4, ordering="key", workers=32)
    assert desired(processing=settings).directive(3, None).processing == settings
