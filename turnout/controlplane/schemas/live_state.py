"""Live state of a deployment (instances, owners, offsets, lag), its lag history, and the
ticket that opens its event stream."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from turnout.protocol import Colour


class InstancePublic(BaseModel):
    instance: str
    colour: Colour
    version: str
    host: str
    pid: int
    epoch: int | None
    state: str
    partitions: int
    fenced: bool
    rate_per_s: float | None
    errors: int
    processing_version: int | None = Field(
        description="The processing settings version it runs with; null: it does not say "
        "(its embedding code's settings, or an agent that does not report it)"
    )
    processing_current: bool | None = Field(
        description="Whether it runs the deployment's newest settings version; "
        "null when it does not report a version"
    )
    processing_refused: str | None = Field(
        description="Why it refused the newest settings version (it keeps its last good one)"
    )
    ready: bool = Field(description="Whether it could take over at full speed (see readiness_note)")
    readiness_note: str | None = Field(
        description="Why it is not ready; or, for an agent that does not report readiness "
        "(an older version), that it is counted as ready"
    )


class PartitionPublic(BaseModel):
    binding: Literal["live", "preview"]
    topic: str
    partition: int
    owner_instance: str | None
    owner_colour: Colour | None
    owner_epoch: int | None
    committed_offset: int | None
    end_offset: int | None
    lag: int | None


class ColourReadinessPublic(BaseModel):
    ready: bool = Field(
        description="At least one instance registered and every registered one ready: "
        "a switch to this colour is not refused"
    )
    instances: int
    ready_instances: int
    refusal: str | None = Field(description="Why a switch to this colour would be refused")


class StatePublic(BaseModel):
    deployment: str
    epoch: int
    active_colour: Colour
    paused: bool
    zookeeper: str = Field(examples=["ok", "unreachable: connection refused"])
    kafka: str = Field(default="ok", examples=["ok", "unreachable: timed out"])
    instances: list[InstancePublic]
    partitions: list[PartitionPublic]
    lag_total: int
    lag_status: Literal["OK", "WARN", "STALL", "STOP"]
    processing_version: int = Field(description="The deployment's newest settings version")
    clusters: dict[Colour, str] = Field(
        default_factory=dict,
        description="The cluster each colour runs on: the deployment's, or for a colour "
        "consuming a mirror's copies the mirror's target (the live colour's offsets and "
        "lag are read there)",
    )
    readiness: dict[Colour, ColourReadinessPublic]


class LagPoint(BaseModel):
    at: datetime
    total: int
    partitions: dict[str, int]


class LagHistory(BaseModel):
    points: list[LagPoint]


class StreamTicketOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket": "tst_3q2-…",
                    "expires_in_s": 30.0,
                    "events_url": "/api/v1/deployments/billing/events?ticket=tst_3q2-…",
                }
            ]
        }
    )

    ticket: str = Field(description="Single-use; worth nothing after its first use")
    expires_in_s: float = Field(description="Redeem it within this many seconds")
    events_url: str = Field(description="The event stream's path with the ticket")
