"""Deployment bodies: create, update (every field optional) and the public view."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from turnout.controlplane.schemas.common import check_pins
from turnout.controlplane.schemas.mirrors import MirrorBody, MirrorPublic
from turnout.controlplane.schemas.switches import SwitchPublic
from turnout.protocol import AbsentPinPolicy, Colour, Role, Strategy
from turnout.protocol.paths import validate_name
from turnout.protocol.processing import ProcessingSettings

#: A change of processing settings: only the fields to change, nested objects field by
#: field (``domain.processing_changes``). Checked against the stored settings, so the
#: schema only says it is an object of ProcessingSettings' fields.
ProcessingChange = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Fields of ProcessingSettings to change (all optional, nested "
            "objects merge field by field); `version` is set by the control plane.",
            "examples": [{"ordering": "key", "workers": 32, "retries": {"max_retries": 5}}],
        }
    ),
]

#: Top-level fields that became processing settings; a body naming them is refused
#: rather than quietly ignored.
MOVED_TO_PROCESSING = ("ordering", "workers")


def _refuse_moved_fields(data: Any) -> Any:
    if isinstance(data, dict):
        moved = [name for name in MOVED_TO_PROCESSING if name in data]
        if moved:
            raise ValueError(
                f"{', '.join(moved)} moved into the processing object: "
                f"send {{'processing': {{{', '.join(f'{m!r}: ...' for m in moved)}}}}}"
            )
    return data


#: The ZooKeeper (SASL) user of a deployment's agents (``coordination.acl``).
ZookeeperUser = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._@-]+$",
        description="The ZooKeeper (SASL) user of this deployment's agents: only it and "
        "the control plane may write the deployment's agent directories",
    ),
]


#: Why a binding without topics is refused, for the fields that may hold one.
NO_TOPICS = (
    "topics is empty: list at least one topic (only a mirror's live binding, with a "
    "source_topic_pattern, may list none)"
)


class BindingBody(BaseModel):
    group: str = Field(examples=["billing"])
    topics: list[str] = Field(
        default_factory=list,
        max_length=100,
        examples=[["payments"]],
        description="At least one, except for a mirror with a source_topic_pattern",
    )

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        return validate_name("group", value)

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        for topic in value:
            validate_name("topic", topic)
        if len(set(value)) != len(value):
            raise ValueError("topics must not repeat")
        return sorted(value)


#: A colour's mirror: cluster migration (docs/mirror.md, "Cluster migration").
ViaMirror = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A mirror deployment copying this deployment's topics from its "
        "cluster: this colour runs on the mirror's target cluster and consumes the "
        "copies, and a switch to it moves the deployment there (at most one colour; "
        "null: the deployment's own cluster)",
        examples=["orders-mirror"],
    ),
]


class ColourBody(BaseModel):
    version: str = Field(min_length=1, max_length=100, examples=["1.4.0"])
    role: Role | None = Field(
        default=None,
        description="Defaults: blue live, green standby "
        "(or preview when the deployment has a preview binding)",
    )
    via_mirror: ViaMirror = None


class ColourPublic(BaseModel):
    version: str
    role: Role
    #: The cluster the colour's agents run on: the deployment's, or its mirror's target.
    cluster: str
    via_mirror: str | None = None


class ColoursBody(BaseModel):
    blue: ColourBody
    green: ColourBody


class ColourVersion(BaseModel):
    """A colour's fields to change (its role changes only by switching)."""

    version: str | None = Field(default=None, min_length=1, max_length=100)
    via_mirror: ViaMirror = None


class ColourVersionsUpdate(BaseModel):
    blue: ColourVersion | None = None
    green: ColourVersion | None = None


_DEPLOYMENT_CREATE_EXAMPLE: dict[str, Any] = {
    "name": "billing",
    "cluster": "local",
    "live": {"group": "billing", "topics": ["payments"]},
    "preview": None,
    "strategy": "range",
    "processing": {"ordering": "partition", "workers": 8},
    "drain_timeout_ms": 10000,
    "absent_pin_policy": "leave_unowned",
    "colours": {"blue": {"version": "1.4.0"}, "green": {"version": "1.5.0"}},
    "pins": {},
    "paused": False,
}


def _refuse_mirror_change(data: Any) -> Any:
    if isinstance(data, dict) and "mirror" in data:
        raise ValueError(
            "a mirror's target and naming are fixed at creation: create a new deployment "
            "to copy elsewhere"
        )
    return data


def _bindings_without_topics(data: Any) -> list[tuple[tuple[str, ...], str]]:
    """(field, message) for each binding of a create body that lists no topic and may
    not: any but the live binding of a mirror with a source topic pattern."""
    if not isinstance(data, dict):
        return []
    mirror = data.get("mirror")
    has_pattern = isinstance(mirror, dict) and bool(mirror.get("source_topic_pattern"))
    problems: list[tuple[tuple[str, ...], str]] = []
    for name in ("live", "preview"):
        binding = data.get(name)
        if not isinstance(binding, dict) or binding.get("topics", []) != []:
            continue  # absent, null, or topics the field itself checks
        if name == "preview" or not has_pattern:
            problems.append(((name, "topics"), f"{name}.{NO_TOPICS}"))
    return problems


def _validation_error(
    title: str, errors: Iterable[ErrorDetails], more: Iterable[tuple[tuple[str, ...], str]]
) -> ValidationError:
    lines: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError(e["type"], e["msg"]),
            "loc": e["loc"],
            "input": e["input"],
        }
        for e in errors
    ]
    lines += [
        {"type": PydanticCustomError("no_topics", message), "loc": loc, "input": []}
        for loc, message in more
    ]
    return ValidationError.from_exception_data(title, lines)


def _valid_team(value: str | None) -> str | None:
    return None if value is None else validate_name("team", value)


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DEPLOYMENT_CREATE_EXAMPLE]})

    name: str
    team: str | None = Field(
        default=None, max_length=200, description="The owning team; scoped tokens see by it"
    )
    cluster: str
    live: BindingBody
    preview: BindingBody | None = None
    strategy: Strategy = Strategy.RANGE
    processing: ProcessingChange = Field(
        default_factory=dict, description="How the agents process; unset fields: defaults"
    )
    drain_timeout_ms: int = Field(default=10_000, ge=0, le=600_000)
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED
    colours: ColoursBody
    pins: dict[str, str] = Field(default_factory=dict, max_length=10_000)
    paused: bool = False
    zookeeper_user: ZookeeperUser = None
    mirror: MirrorBody | None = Field(
        default=None,
        description="Makes the deployment a mirror: its agents (`turnout mirror run`) copy "
        "the live topics to this target; fixed at creation",
    )

    _moved = model_validator(mode="before")(_refuse_moved_fields)

    @model_validator(mode="wrap")
    @classmethod
    def _bindings_list_topics(
        cls, data: Any, handler: ModelWrapValidatorHandler[DeploymentCreate]
    ) -> DeploymentCreate:
        """A binding without topics, refused at its ``topics`` field along with the
        body's other errors (a check of the whole body would name only the body)."""
        problems = _bindings_without_topics(data)
        try:
            created = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise _validation_error(cls.__name__, exc.errors(), problems) from None
        if problems:
            raise _validation_error(cls.__name__, [], problems)
        return created

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_name("deployment", value)

    _team = field_validator("team")(_valid_team)

    @field_validator("pins")
    @classmethod
    def _valid_pins(cls, value: dict[str, str]) -> dict[str, str]:
        return check_pins(value)

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
        if self.mirror is not None and self.preview is not None:
            raise ValueError(
                "a mirror has no preview binding: a preview colour's copies would land in "
                "the live target topics"
            )
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
            "examples": [
                {"processing": {"workers": 16}, "colours": {"green": {"version": "1.6.0"}}}
            ]
        }
    )

    _moved = model_validator(mode="before")(_refuse_moved_fields)
    _fixed = model_validator(mode="before")(_refuse_mirror_change)

    live: BindingBody | None = None
    preview: BindingBody | None = None
    team: str | None = Field(
        default=None, max_length=200, description="The owning team; null: none"
    )
    strategy: Strategy | None = None
    processing: ProcessingChange | None = None
    drain_timeout_ms: int | None = Field(default=None, ge=0, le=600_000)
    absent_pin_policy: AbsentPinPolicy | None = None
    colours: ColourVersionsUpdate | None = None
    zookeeper_user: ZookeeperUser = None

    _team = field_validator("team")(_valid_team)


class DeploymentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_DEPLOYMENT_CREATE_EXAMPLE,
                    "processing": ProcessingSettings(
                        ordering="partition", workers=8, version=2
                    ).model_dump(mode="json"),
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
    team: str | None
    cluster: str
    live: BindingBody
    preview: BindingBody | None
    strategy: Strategy
    processing: ProcessingSettings
    drain_timeout_ms: int
    absent_pin_policy: AbsentPinPolicy
    colours: dict[Colour, ColourPublic]
    active_colour: Colour
    pins: dict[str, str]
    paused: bool
    zookeeper_user: str | None = None
    mirror: MirrorPublic | None = None
    epoch: int
    last_switch: SwitchPublic | None
    created_at: datetime
    updated_at: datetime
    version: int
