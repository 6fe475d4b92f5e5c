"""What a deployment's directive must say: the desired state, without the write's bookkeeping.

The database row is the record of intent; ``Deployment.desired_state()`` maps it to a
:class:`DesiredState`, and the coordination layer makes ZooKeeper's directive carry it.
Two directives with the same intent differ only in bookkeeping (epoch, write time,
operation id): the writer compares intents, so re-applying an unchanged deployment
writes nothing and bumps no epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from turnout.protocol import Binding, Colour, Directive, Role
from turnout.protocol.crossing import Crossing
from turnout.protocol.mirror import MirrorSpec
from turnout.protocol.models import AbsentPinPolicy, Strategy
from turnout.protocol.processing import ProcessingSettings

#: Fields that make up intent; epoch, written_at and operation_id only describe a write.
BOOKKEEPING_FIELDS = frozenset({"epoch", "written_at", "operation_id"})


@dataclass(frozen=True)
class DesiredState:
    deployment: str
    live: Binding
    preview: Binding | None
    roles: dict[Colour, Role]
    strategy: Strategy
    pins: dict[str, str]
    absent_pin_policy: AbsentPinPolicy
    paused: bool
    drain_timeout_ms: int
    processing: ProcessingSettings
    mirror: MirrorSpec | None = None
    crossings: dict[Colour, Crossing] = field(default_factory=dict)

    def directive(self, epoch: int, operation_id: str | None) -> Directive:
        return Directive(
            epoch=epoch,
            deployment=self.deployment,
            live=self.live,
            preview=self.preview,
            roles=self.roles,
            strategy=self.strategy,
            pins=self.pins,
            absent_pin_policy=self.absent_pin_policy,
            paused=self.paused,
            drain_timeout_ms=self.drain_timeout_ms,
            processing=self.processing,
            mirror=self.mirror,
            crossings=self.crossings,
            operation_id=operation_id,
        )


def same_intent(a: Directive, b: Directive) -> bool:
    """True when ``a`` and ``b`` differ at most in bookkeeping (epoch, time, operation)."""
    exclude = set(BOOKKEEPING_FIELDS)
    return a.model_dump(exclude=exclude) == b.model_dump(exclude=exclude)
