"""The readiness rule a switch is gated on."""

from __future__ import annotations

from typing import Any

from turnout.controlplane.domain.readiness import NOT_REPORTED, colour_readiness
from turnout.protocol import Colour, InstanceRegistration, InstanceStatus
from turnout.protocol.models import utc_now


def registered(instance: str, colour: Colour = Colour.GREEN) -> InstanceRegistration:
    return InstanceRegistration(
        instance=instance,
        colour=colour,
        version="2",
        host="h",
        pid=1,
        started_at=utc_now(),
        session_id=1,
    )


def status(instance: str, **fields: Any) -> InstanceStatus:
    return InstanceStatus(
        instance=instance, colour=Colour.GREEN, version="2", epoch=1, state="RUNNING", **fields
    )


def test_a_colour_is_ready_when_every_registered_instance_is() -> None:
    readiness = colour_readiness(
        Colour.GREEN,
        [
            (registered("green-0"), status("green-0", ready=True)),
            (registered("green-1"), status("green-1", ready=True)),
            (registered("blue-0", Colour.BLUE), None),
        ],
    )
    assert readiness.ready and readiness.refusal() is None
    assert [i.instance for i in readiness.instances] == ["green-0", "green-1"]


def test_one_cold_instance_makes_the_colour_not_ready_and_is_named() -> None:
    readiness = colour_readiness(
        Colour.GREEN,
        [
            (registered("green-0"), status("green-0", ready=True)),
            (registered("green-1"), status("green-1", ready=False)),
            (registered("green-2"), None),
        ],
    )
    assert not readiness.ready
    assert readiness.refusal() == (
        "2 of 3 green instances are not ready: green-1 (warming up (RUNNING)), "
        "green-2 (no status report yet)"
    )


def test_a_colour_without_instances_is_not_ready() -> None:
    readiness = colour_readiness(Colour.GREEN, [])
    assert not readiness.ready
    assert readiness.refusal() == "no green instance is registered"


def test_an_agent_that_does_not_report_readiness_counts_as_ready() -> None:
    """Version skew: an older agent leaves the field out; it must not block switches."""
    older = InstanceStatus.model_validate_json(status("green-0").model_dump_json(exclude={"ready"}))
    assert older.ready is None
    readiness = colour_readiness(Colour.GREEN, [(registered("green-0"), older)])
    assert readiness.ready
    assert readiness.instances[0].note == NOT_REPORTED


def test_a_fenced_instance_is_not_ready_even_if_it_says_nothing_of_readiness() -> None:
    readiness = colour_readiness(
        Colour.GREEN, [(registered("green-0"), status("green-0", fenced=True))]
    )
    assert not readiness.ready and readiness.instances[0].note == "fenced"
