"""Whether a colour is ready to take over: the rule a switch is gated on.

An instance is ready when its status report says ``ready``: it is connected, warm and
could take over at full speed. A colour is ready when at least one instance of it is
registered and every registered one is ready, because a switch hands the partitions to
all of them at once and a cold one stalls the partitions it gets.

Version skew: an agent too old to report readiness writes no ``ready`` field (it reads
as None). It is counted as ready, with a note, so upgrading the control plane never
blocks the switches of agents that cannot say; an instance that has written no status
report at all yet is still starting and is not ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from turnout.protocol import Colour, InstanceRegistration, InstanceStatus


@dataclass(frozen=True)
class InstanceReadiness:
    instance: str
    ready: bool
    #: Why it is not ready, or the note on an instance counted as ready without saying so.
    note: str | None = None


@dataclass(frozen=True)
class ColourReadiness:
    colour: Colour
    instances: tuple[InstanceReadiness, ...]

    @property
    def ready(self) -> bool:
        return bool(self.instances) and all(i.ready for i in self.instances)

    @property
    def not_ready(self) -> tuple[InstanceReadiness, ...]:
        return tuple(i for i in self.instances if not i.ready)

    def refusal(self) -> str | None:
        """Why a switch to this colour would hand its partitions to a cold colour; None if
        it would not."""
        if not self.instances:
            return f"no {self.colour.value} instance is registered"
        if self.ready:
            return None
        waiting = ", ".join(f"{i.instance} ({i.note})" for i in self.not_ready)
        return (
            f"{len(self.not_ready)} of {len(self.instances)} {self.colour.value} instances "
            f"are not ready: {waiting}"
        )


#: The note on an instance whose agent does not report readiness (an older version).
NOT_REPORTED = "does not report readiness (an older agent); counted as ready"


def instance_readiness(
    registration: InstanceRegistration, status: InstanceStatus | None
) -> InstanceReadiness:
    name = registration.instance
    if status is None:
        return InstanceReadiness(name, False, "no status report yet")
    if status.fenced:
        return InstanceReadiness(name, False, "fenced")
    if status.ready is None:
        return InstanceReadiness(name, True, NOT_REPORTED)
    if not status.ready:
        return InstanceReadiness(name, False, f"warming up ({status.state})")
    return InstanceReadiness(name, True)


def colour_readiness(
    colour: Colour, instances: Iterable[tuple[InstanceRegistration, InstanceStatus | None]]
) -> ColourReadiness:
    """The readiness of ``colour`` among the registered ``instances`` (of any colour)."""
    return ColourReadiness(
        colour,
        tuple(
            instance_readiness(registration, status)
            for registration, status in sorted(instances, key=lambda i: i[0].instance)
            if registration.colour is colour
        ),
    )
