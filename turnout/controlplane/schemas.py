"""Request and response bodies (docs/api.md is the contract; this is its code).

Per resource: ``*Create`` (POST body), ``*Update`` (PATCH body, every field optional),
``*Public`` (what the API returns). Examples feed the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from turnout.controlplane.security import Role as ApiRole
from turnout.controlplane.switch_machine import SwitchState
from turnout.protocol import AbsentPinPolicy, Colour, PartitionRef, Role, Strategy
from turnout.protocol.paths import validate_name

T = TypeVar("T")

#: Longest switch bound accepted: a switch that needs more than an hour is stuck.
MAX_SWITCH_TIMEOUT_S = 3600.0


class Ordering(StrEnum):
    """Work-manager ordering hint passed to agents (issue 4)."""

    PARTITION = "partition"
    KEY = "key"
    UNORDERED = "unordered"


class ErrorOut(BaseModel):
    detail: str = Field(examples=["a switch of billing is already in flight"])


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Total number of items matching, across all pages")


def _name(kind: str, value: str) -> str:
    return validate_name(kind, value)


# ---- clusters ---------------------------------------------------------------------------

_CLUSTER_EXAMPLE: dict[str, Any] = {
    "name": "local",
    "kafka_bootstrap": "127.0.0.1:9092",
    "zookeeper_connect": "127.0.0.1:2181",
    "zookeeper_root": "/turnout",
}


class ClusterUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kafka_bootstrap": "kafka:9092"}]})

    kafka_bootstrap: str | None = Field(default=None, min_length=1, max_length=1000)
    zookeeper_connect: str | None = Field(default=None, min_length=1, max_length=1000)
    zookeeper_root: str | None = Field(
        default=None, pattern=r"^/([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$"
    )


class ClusterCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLUSTER_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200)
    kafka_bootstrap: str = Field(min_length=1, max_length=1000)
    zookeeper_connect: str = Field(min_length=1, max_length=1000)
    zookeeper_root: str = Field(
        default="/turnout", pattern=r"^/([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$"
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _name("cluster", value)


class ClusterPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLUSTER_EXAMPLE]})

    name: str
    kafka_bootstrap: str
    zookeeper_connect: str
    zookeeper_root: str


# ---- deployments ------------------------------------------------------------------------


class BindingBody(BaseModel):
    group: str = Field(examples=["billing"])
    topics: list[str] = Field(min_length=1, max_length=100, examples=[["payments"]])

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        return _name("group", value)

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        for topic in value:
            _name("topic", topic)
        if len(set(value)) != len(value):
            raise ValueError("topics must not repeat")
        return sorted(value)


class ColourBody(BaseModel):
    version: str = Field(min_length=1, max_length=100, examples=["1.4.0"])
    role: Role | None = Field(
        default=None,
        description="Defaults: blue live, green standby "
        "(or preview when the deployment has a preview binding)",
    )


class ColourPublic(BaseModel):
    version: str
    role: Role


class ColoursBody(BaseModel):
    blue: ColourBody
    green: ColourBody


class ColourVersion(BaseModel):
    version: str = Field(min_length=1, max_length=100)


class ColourVersionsUpdate(BaseModel):
    blue: ColourVersion | None = None
    green: ColourVersion | None = None


def _check_pins(value: dict[str, str]) -> dict[str, str]:
    for key, instance in value.items():
        PartitionRef.parse(key)
        _name("instance", instance)
    return value


_DEPLOYMENT_CREATE_EXAMPLE: dict[str, Any] = {
    "name": "billing",
    "cluster": "local",
    "live": {"group": "billing", "topics": ["payments"]},
    "preview": None,
    "strategy": "range",
    "ordering": "partition",
    "workers": 8,
    "drain_timeout_ms": 10000,
    "absent_pin_policy": "leave_unowned",
    "colours": {"blue": {"version": "1.4.0"}, "green": {"version": "1.5.0"}},
    "pins": {},
    "paused": False,
}


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DEPLOYMENT_CREATE_EXAMPLE]})

    name: str
    cluster: str
    live: BindingBody
    preview: BindingBody | None = None
    strategy: Strategy = Strategy.RANGE
    ordering: Ordering = Ordering.PARTITION
    workers: int = Field(default=1, ge=1, le=1024)
    drain_timeout_ms: int = Field(default=10_000, ge=0, le=600_000)
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED
    colours: ColoursBody
    pins: dict[str, str] = Field(default_factory=dict, max_length=10_000)
    paused: bool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _name("deployment", value)

    @field_validator("pins")
    @classmethod
    def _valid_pins(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_pins(value)

    @model_validator(mode="after")
    def _roles(self) -> DeploymentCreate:
        roles = [self.colours.blue.role, self.colours.green.role]
        if roles.count(None) == 1:
            raise ValueError("give the role of both colours or of neither")
        if None not in roles:
            if roles.count(Role.LIVE) != 1:
                raise ValueError("exactly one colour must be live")
            if Role.PREVIEW in roles and self.preview is None:
                raise ValueError("a colour has the preview role but there is no preview binding")
        if self.preview is not None and self.preview.group == self.live.group:
            raise ValueError("the preview binding needs a consumer group of its own")
        return self

    def roles(self) -> dict[Colour, Role]:
        if self.colours.blue.role is not None and self.colours.green.role is not None:
            return {Colour.BLUE: self.colours.blue.role, Colour.GREEN: self.colours.green.role}
        other = Role.PREVIEW if self.preview is not None else Role.STANDBY
        return {Colour.BLUE: Role.LIVE, Colour.GREEN: other}


class DeploymentUpdate(BaseModel):
    """Fields to change; roles change only by switching, pins through the pins resource."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"workers": 16, "colours": {"green": {"version": "1.6.0"}}}]
        }
    )

    live: BindingBody | None = None
    preview: BindingBody | None = None
    strategy: Strategy | None = None
    ordering: Ordering | None = None
    workers: int | None = Field(default=None, ge=1, le=1024)
    drain_timeout_ms: int | None = Field(default=None, ge=0, le=600_000)
    absent_pin_policy: AbsentPinPolicy | None = None
    colours: ColourVersionsUpdate | None = None


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


class DeploymentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_DEPLOYMENT_CREATE_EXAMPLE,
                    "colours": {
                        "blue": {"version": "1.4.0", "role": "live"},
                        "green": {"version": "1.5.0", "role": "standby"},
                    },
                    "active_colour": "blue",
                    "epoch": 7,
                    "last_switch": None,
                    "created_at": "2026-11-24T22:00:00Z",
                    "updated_at": "2026-11-24T22:00:00Z",
                    "version": 3,
                }
            ]
        }
    )

    name: str
    cluster: str
    live: BindingBody
    preview: BindingBody | None
    strategy: Strategy
    ordering: Ordering
    workers: int
    drain_timeout_ms: int
    absent_pin_policy: AbsentPinPolicy
    colours: dict[Colour, ColourPublic]
    active_colour: Colour
    pins: dict[str, str]
    paused: bool
    epoch: int
    last_switch: SwitchPublic | None
    created_at: datetime
    updated_at: datetime
    version: int


# ---- switches ---------------------------------------------------------------------------


class SwitchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "green", "timeout_s": 60}]})

    to: Colour
    timeout_s: float | None = Field(default=None, gt=0, le=MAX_SWITCH_TIMEOUT_S)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"timeout_s": 60}]})

    timeout_s: float | None = Field(default=None, gt=0, le=MAX_SWITCH_TIMEOUT_S)


# ---- pins -------------------------------------------------------------------------------


class PinsRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pins": {"payments/3": "billing-green-1"}, "absent_pin_policy": "leave_unowned"}
            ]
        }
    )

    pins: dict[str, str] = Field(max_length=10_000)
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED

    @field_validator("pins")
    @classmethod
    def _valid_pins(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_pins(value)


class MovePublic(BaseModel):
    partition: str
    from_instance: str | None
    to_instance: str | None


class PinsPreview(BaseModel):
    moves: list[MovePublic]
    unowned: list[str]


# ---- offsets ----------------------------------------------------------------------------


class OffsetResetRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"binding": "live", "to": "earliest", "dry_run": True}]}
    )

    binding: Literal["live", "preview"] = "live"
    to: Literal["earliest", "latest", "timestamp", "explicit"]
    timestamp_ms: int | None = Field(default=None, ge=0)
    offsets: dict[str, int] | None = Field(default=None, max_length=10_000)
    dry_run: bool = True

    @model_validator(mode="after")
    def _target_given(self) -> OffsetResetRequest:
        if self.to == "timestamp" and self.timestamp_ms is None:
            raise ValueError("to=timestamp needs timestamp_ms")
        if self.to == "explicit":
            if not self.offsets:
                raise ValueError("to=explicit needs offsets")
            for key, offset in self.offsets.items():
                PartitionRef.parse(key)
                if offset < 0:
                    raise ValueError(f"offset of {key} must be >= 0")
        return self


class OffsetPlanItem(BaseModel):
    partition: str
    current: int | None
    target: int


class OffsetResetResult(BaseModel):
    executed: bool
    partitions: list[OffsetPlanItem]


# ---- live state -------------------------------------------------------------------------


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


# ---- audit, tokens, whoami ----------------------------------------------------------------


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    deployment: str | None
    detail: dict[str, Any]


class TokenCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "ci", "role": "operator"}]})

    name: str
    role: ApiRole

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _name("token", value)


class TokenCreated(BaseModel):
    name: str
    role: ApiRole
    token: str = Field(description="Shown once; only its SHA-256 hash is stored")


class TokenPublic(BaseModel):
    name: str
    role: ApiRole
    created_at: datetime


class WhoAmI(BaseModel):
    name: str
    role: ApiRole


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
