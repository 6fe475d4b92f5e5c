"""Processing settings on the wire: defaults, bounds, and the version-skew rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.protocol import Binding, Colour, Directive, Role
from turnout.protocol.processing import (
    ExhaustedDecision,
    ProcessingSettings,
    UnsupportedSettings,
    exhausted_decision_value,
    validate_processing,
)


def directive(processing: ProcessingSettings | None) -> Directive:
    return Directive(
        epoch=1,
        deployment="d",
        live=Binding(group="g", topics=("t",)),
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        processing=processing,
    )


def test_settings_round_trip_inside_the_directive() -> None:
    settings = ProcessingSettings(version=3, ordering="key", workers=32)
    read = Directive.from_bytes(directive(settings).to_bytes())
    assert read.processing == settings


def test_a_directive_without_settings_leaves_agents_on_their_own_config() -> None:
    assert Directive.from_bytes(directive(None).to_bytes()).processing is None


def test_unknown_fields_are_ignored_but_unknown_values_are_refused_whole() -> None:
    raw = directive(ProcessingSettings()).model_dump(mode="json")
    raw["processing"]["a_setting_from_the_future"] = 1
    raw["processing"]["ordering"] = "by_tenant"
    read = Directive.model_validate(raw)  # an older agent still reads the directive...
    assert read.processing is not None
    with pytest.raises(UnsupportedSettings, match="ordering 'by_tenant'"):
        validate_processing(read.processing)  # ...and refuses these settings visibly


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("on_exhausted", {"on_exhausted": "shrug"}),
        ("escalation.action", {"escalation": {"action": "panic"}}),
        ("guarantee", {"guarantee": "at_most_once"}),
    ],
)
def test_every_enumerated_field_is_checked(field: str, change: dict[str, object]) -> None:
    settings = ProcessingSettings.model_validate(change)
    with pytest.raises(UnsupportedSettings, match=field):
        validate_processing(settings)


def test_the_exhausted_decision_defaults_to_keeping_the_record() -> None:
    assert (
        exhausted_decision_value(ProcessingSettings()) == ExhaustedDecision.DO_NOT_COMMIT_AND_STOP
    )
    with_letters = ProcessingSettings.model_validate({"dead_letters": {"enabled": True}})
    assert exhausted_decision_value(with_letters) == ExhaustedDecision.COMMIT_AND_CONTINUE
    validate_processing(with_letters)


def test_inconsistent_bounds_are_rejected() -> None:
    with pytest.raises(ValidationError, match="max_in_flight_per_partition"):
        ProcessingSettings(max_in_flight_records=10, max_in_flight_per_partition=11)
    with pytest.raises(ValidationError, match="max_backoff_ms"):
        ProcessingSettings.model_validate({"retries": {"backoff_ms": 10, "max_backoff_ms": 5}})


def test_outputs_round_trip_and_an_older_agent_ignores_them() -> None:
    settings = ProcessingSettings.model_validate(
        {"guarantee": "exactly_once", "outputs": {"enriched": {"live": "o", "preview": "o.pv"}}}
    )
    read = Directive.from_bytes(directive(settings).to_bytes())
    assert read.processing == settings
    validate_processing(settings)
    raw = directive(settings).model_dump(mode="json")
    raw["processing"]["outputs"]["enriched"]["a_field_from_the_future"] = 1
    assert Directive.model_validate(raw).processing == settings


def test_a_preview_topic_may_not_be_any_outputs_live_topic() -> None:
    with pytest.raises(ValidationError, match="must never write to a live topic"):
        ProcessingSettings.model_validate(
            {"outputs": {"a": {"live": "a", "preview": "p"}, "b": {"live": "b", "preview": "a"}}}
        )
