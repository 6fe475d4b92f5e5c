"""Switch and rollback bodies, and a switch with its phase timings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from turnout.controlplane.domain.switch_machine import SwitchState
from turnout.protocol import Colour

#: Longest switch bound accepted: a switch that needs more than an hour is stuck.
MAX_SWITCH_TIMEOUT_S = 3600.0
#: Longest a switch request may wait for its colour to become ready: the request holds
#: an HTTP connection meanwhile, and a colour still cold after two minutes is stuck
#: (crash-looping, or unable to reach Kafka), not warming up.
MAX_WAIT_READY_MS = 120_000


class ReadinessGate(BaseModel):
    """The readiness gate's options, shared by switch and rollback requests."""

    force: bool = Field(
        default=False,
        description="Switch even if the colour is not ready (no instance, or some "
        "instances not ready): its partitions may stall while it warms up",
    )
    wait_ready_ms: int = Field(
        default=0,
        ge=0,
        le=MAX_WAIT_READY_MS,
        description="Wait up to this long for the colour to become ready before "
        "refusing with 409 (0: refuse at once)",
    )


class PhasePublic(BaseModel):
    name: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None


class SwitchPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f6c1e-7d1c-4a53-9a43-2f8f0a1f5e11",
                    "deployment": "billing",
                    "kind": "switch",
                    "from_colour": "blue",
                    "to_colour": "green",
                    "epoch": 8,
                    "state": "releasing",
                    "reason": None,
                    "requested_by": "alice",
                    "requested_at": "2026-11-24T22:00:00Z",
                    "finished_at": None,
                    "phases": [
                        {
                            "name": "requested",
                            "started_at": "2026-11-24T22:00:00Z",
                            "ended_at": "2026-11-24T22:00:00.003Z",
                            "duration_ms": 3,
                        },
                    ],
                }
            ]
        }
    )

    id: str
    deployment: str
    kind: Literal["switch", "rollback"]
    from_colour: Colour
    to_colour: Colour
    epoch: int | None
    state: SwitchState
    reason: str | None
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    timeout_s: float
    phases: list[PhasePublic]


class SwitchRequest(ReadinessGate):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to": "green", "timeout_s": 60, "wait_ready_ms": 30000}]}
    )

    to: Colour
    timeout_s: float | None = Field(default=None, gt=0, le=MAX_SWITCH_TIMEOUT_S)


class RollbackRequest(ReadinessGate):
    model_config = ConfigDict(json_schema_extra={"examples": [{"timeout_s": 60}]})

    timeout_s: float | None = Field(default=None, gt=0, le=MAX_SWITCH_TIMEOUT_S)
