"""Live state of a deployment (instances, owners, offsets, lag) and its lag history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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


class LagPoint(BaseModel):
    at: datetime
    total: int
    partitions: dict[str, int]


class LagHistory(BaseModel):
    points: list[LagPoint]
