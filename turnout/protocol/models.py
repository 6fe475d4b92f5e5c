"""JSON shapes written to ZooKeeper. Every model round-trips through ``to_bytes``/``from_bytes``.

Unknown fields are ignored on read (``extra="ignore"``) so a newer writer does not break
an older reader during a rolling upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from turnout.protocol.crossing import Crossing
from turnout.protocol.mirror import MirrorSpec
from turnout.protocol.partitions import parse_partition_key, partition_key
from turnout.protocol.paths import validate_name
from turnout.protocol.processing import ProcessingSettings
from turnout.protocol.topic_pattern import topic_matches, validate_topic_pattern

#: Kafka brokers accept commit metadata up to offset.metadata.max.bytes (4096 by default).
MAX_COMMIT_METADATA_BYTES = 4096


class Colour(StrEnum):
    BLUE = "blue"
    GREEN = "green"


class Role(StrEnum):
    """What a colour does. Exactly one colour is LIVE; the other is PREVIEW or STANDBY."""

    LIVE = "live"  # owns the live binding's partitions
    PREVIEW = "preview"  # owns the preview binding's partitions (if the deployment has one)
    STANDBY = "standby"  # registered and warm, owns nothing


class Strategy(StrEnum):
    RANGE = "range"
    ROUND_ROBIN = "round_robin"
    STICKY = "sticky"
    MANUAL = "manual"


class AbsentPinPolicy(StrEnum):
    """What a manual pin to an instance that is not registered does."""

    LEAVE_UNOWNED = "leave_unowned"  # the partition stays unowned and is reported
    FALLBACK = "fallback"  # the partition goes to the range strategy among live members


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls.model_validate_json(data)


def utc_now() -> datetime:
    return datetime.now(UTC)


class PartitionRef(_Wire):
    topic: str
    partition: int = Field(ge=0)

    @property
    def key(self) -> str:
        """``"<topic>/<partition>"``: the form used as a JSON object key (pins)."""
        return partition_key(self.topic, self.partition)

    @classmethod
    def parse(cls, key: str) -> PartitionRef:
        topic, partition = parse_partition_key(key)
        return cls(topic=topic, partition=partition)


class Binding(_Wire):
    """A consumer group and the topics it consumes: those listed, and with a
    ``topic_pattern`` every topic of the cluster the pattern takes (``topic_pattern.py``),
    resolved by the agents (``resolved``) against the cluster's metadata. An agent that
    does not know ``topic_pattern`` ignores it and consumes the listed topics only.

    A binding lists at least one topic or has a pattern; a pattern alone may take no
    topic yet (its agents own nothing until one is created)."""

    group: str
    topics: tuple[str, ...] = ()
    topic_pattern: str | None = None

    @field_validator("group")
    @classmethod
    def _group_is_a_name(cls, value: str) -> str:
        return validate_name("group", value)

    @field_validator("topics")
    @classmethod
    def _topics_are_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for topic in value:
            validate_name("topic", topic)
        if len(set(value)) != len(value):
            raise ValueError("topics must not repeat")
        return tuple(sorted(value))

    @field_validator("topic_pattern")
    @classmethod
    def _pattern_is_a_regex(cls, value: str | None) -> str | None:
        return None if value is None else validate_topic_pattern(value)

    @model_validator(mode="after")
    def _topics_or_pattern(self) -> Self:
        if not self.topics and self.topic_pattern is None:
            raise ValueError("a binding lists at least one topic or has a topic pattern")
        return self

    def matches(self, topic: str) -> bool:
        """Whether ``topic`` is one of the binding's: listed, or taken by its pattern."""
        return topic in self.topics or (
            self.topic_pattern is not None and topic_matches(self.topic_pattern, topic)
        )

    def resolved(self, known: Iterable[str]) -> Binding:
        """This binding with every topic of ``known`` (the cluster's) that its pattern
        takes listed too; itself without a pattern."""
        if self.topic_pattern is None:
            return self
        found = {t for t in known if topic_matches(self.topic_pattern, t)}
        if found <= set(self.topics):
            return self
        return self.model_copy(update={"topics": tuple(sorted(found.union(self.topics)))})


class Directive(_Wire):
    """Desired state of one deployment, written by the control plane with compare-and-set.

    ``epoch`` grows by one with every write. Agents act on the newest directive they
    read and ignore any older one; they may never see some epochs at all.
    """

    epoch: int = Field(ge=1)
    deployment: str
    live: Binding
    preview: Binding | None = None
    roles: dict[Colour, Role]
    strategy: Strategy = Strategy.RANGE
    #: Manual assignment: ``"<topic>/<partition>"`` of the live binding → instance name.
    pins: dict[str, str] = Field(default_factory=dict)
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED
    paused: bool = False
    #: How long a releasing owner may finish in-flight work before it gives up the partition.
    drain_timeout_ms: int = Field(default=10_000, ge=0, le=600_000)
    #: How every instance of both colours processes records; None: each agent runs with
    #: what its embedding code configured (directives written before settings existed).
    processing: ProcessingSettings | None = None
    #: A mirror deployment's copy (target cluster, topic naming); None: not a mirror.
    mirror: MirrorSpec | None = None
    #: A deployment migrating across a mirror: each colour's side of it
    #: (``crossing.py``); empty: the directive says nothing of sides.
    crossings: dict[Colour, Crossing] = Field(default_factory=dict)
    #: The switch (or other operation) that wrote this epoch, for tracing; None if none.
    operation_id: str | None = None
    written_at: datetime = Field(default_factory=utc_now)

    @field_validator("deployment")
    @classmethod
    def _deployment_is_a_name(cls, value: str) -> str:
        return validate_name("deployment", value)

    @field_validator("pins")
    @classmethod
    def _pins_are_well_formed(cls, value: dict[str, str]) -> dict[str, str]:
        for key, instance in value.items():
            PartitionRef.parse(key)
            validate_name("instance", instance)
        return value

    @model_validator(mode="after")
    def _roles_are_consistent(self) -> Directive:
        if set(self.roles) != set(Colour):
            raise ValueError("roles must name both colours, blue and green")
        live = [c for c, r in self.roles.items() if r is Role.LIVE]
        if len(live) != 1:
            raise ValueError("exactly one colour must be live")
        if Role.PREVIEW in self.roles.values() and self.preview is None:
            raise ValueError(
                "a colour has the preview role but the deployment has no preview binding"
            )
        if self.crossings:
            sides = [self.crossings.get(c) for c in Colour]
            if None in sides or len({(x.mirror, x.side) for x in sides if x}) != 2:
                raise ValueError("crossings name both colours, one on each side of the same mirror")
            if len({x.mirror for x in sides if x}) != 1:
                raise ValueError("both colours' crossings are of the same mirror")
        return self

    @property
    def live_colour(self) -> Colour:
        return next(c for c, r in self.roles.items() if r is Role.LIVE)

    def crossing_refusal(self, colour: Colour, running: Crossing | None) -> str | None:
        """Why an agent of ``colour`` started on ``running`` (None: no mirror) must own
        nothing under this directive; None when they agree (``crossing.py``)."""
        if not self.crossings:
            return None
        wanted = self.crossings.get(colour)
        if wanted is None and running is None:
            return None
        if wanted is not None and running is not None and wanted.same_side(running):
            return None
        says = "its own cluster, no mirror" if wanted is None else wanted.describe()
        runs = "without a mirror" if running is None else f"on {running.describe()}"
        return (
            f"the directive has {colour} consume {says}, but this agent was started "
            f"{runs}: it owns nothing until it is started on that side"
        )

    def binding_for(self, colour: Colour) -> Binding | None:
        """The binding a colour consumes under this directive, or None (standby)."""
        role = self.roles[colour]
        if role is Role.LIVE:
            return self.live
        if role is Role.PREVIEW:
            return self.preview
        return None


class InstanceRegistration(_Wire):
    """An agent's ephemeral registration: who it is and where it runs."""

    instance: str
    colour: Colour
    version: str
    host: str
    pid: int
    started_at: datetime
    session_id: int

    @field_validator("instance")
    @classmethod
    def _instance_is_a_name(cls, value: str) -> str:
        return validate_name("instance", value)


class Ownership(_Wire):
    """The data of an owner node: which instance, under which session and epoch, owns it."""

    instance: str
    colour: Colour
    session_id: int
    epoch: int
    claimed_at: datetime = Field(default_factory=utc_now)


class OwnedPartition(_Wire):
    group: str
    topic: str
    partition: int
    committed_offset: int | None = None
    processed: int = 0


class InstanceStatus(_Wire):
    """Observed state: what an instance owns and at which directive epoch it last converged."""

    instance: str
    colour: Colour
    version: str
    #: The newest directive epoch this instance has fully applied (released and claimed).
    epoch: int
    state: str
    owned: tuple[OwnedPartition, ...] = ()
    fenced: bool = False
    counters: dict[str, float] = Field(default_factory=dict)
    errors: tuple[str, ...] = ()
    #: The ``ProcessingSettings.version`` this instance runs with (None: its own config).
    processing_version: int | None = None
    #: Why the newest settings version was refused (an unknown value), if it was.
    processing_refused: str | None = None
    #: True once the instance could take over at full speed (connected, warm, caught up).
    #: None: the agent does not report readiness (an older version); the control plane
    #: counts it as ready (docs/protocol.md, "Processing settings and version skew").
    ready: bool | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class CommitMetadata(_Wire):
    """Kafka commit metadata (and the ZooKeeper backend's record) of a committed offset.

    ``done`` lists offsets above the committed one that were already completed (past the
    first gap), so a successor skips them instead of processing them twice. Compact JSON
    keys keep it well under the broker's 4 KB limit.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    epoch: int = Field(alias="e")
    instance: str = Field(alias="i")
    done: tuple[int, ...] = Field(default=(), alias="d")

    def encode(self) -> str:
        text = json.dumps(
            {"e": self.epoch, "i": self.instance, "d": list(self.done)}, separators=(",", ":")
        )
        if len(text.encode()) > MAX_COMMIT_METADATA_BYTES:
            raise ValueError(f"commit metadata of {len(text)} bytes exceeds the broker's limit")
        return text

    @classmethod
    def decode(cls, text: str | None) -> CommitMetadata | None:
        """Parse metadata written by Turnout; anything else (other tools, empty) is None."""
        if not text:
            return None
        try:
            return cls.model_validate_json(text)
        except ValueError:
            return None


class PublishedAssignment(_Wire):
    """The owner map the agents of a binding agreed on, written with compare-and-set.

    Every agent computes the assignment from the same inputs; the first to write it
    publishes it, the others adopt it when their inputs match (``inputs``), so all
    instances act on one map even for strategies that depend on history (sticky uses the
    previous published map as ``previous``). The control plane may read it to show the
    plan; it never writes it.
    """

    epoch: int
    colour: Colour
    strategy: Strategy
    #: A digest of every input (epoch, colour, sorted members, partitions, strategy, pins,
    #: absent-pin policy): equal digests mean an agent may adopt ``owners`` as is.
    inputs: str
    members: tuple[str, ...]
    #: The ``children_version`` of ``instances/`` the writer read its members at: with
    #: ``epoch`` and the partition total it orders two writers' views (newer view wins).
    members_version: int = 0
    #: topic -> partition count the writer saw.
    partitions: dict[str, int] = Field(default_factory=dict)
    #: ``"<topic>/<partition>"`` -> instance.
    owners: dict[str, str]
    unowned: tuple[str, ...] = ()
    #: ``"<topic>/<partition>"`` -> pinned instance that is not a member.
    absent_pins: dict[str, str] = Field(default_factory=dict)
    written_by: str
    written_at: datetime = Field(default_factory=utc_now)


class ZkOffset(_Wire):
    """The data of a ZooKeeper offset node (``offsets/<group>/<topic>/<partition>``).

    ``offset`` is the next offset to consume (None: claimed but never committed).
    ``claimed_by`` is rewritten by every new owner at claim time; that write bumps the
    node's version, which fences commits of any earlier owner (they CAS on the version
    they saw).
    """

    offset: int | None = None
    metadata: str | None = None
    claimed_by: str | None = None
    epoch: int = 0
    updated_at: datetime = Field(default_factory=utc_now)
