"""Database tables (SQLAlchemy 2 typed declarative). The database is the record of intent.

Alembic owns the schema (alembic/versions); ``turnout controlplane migrate`` applies it.
The rows also map themselves to the protocol's types (a deployment's roles, bindings,
ZooKeeper paths and desired state; a switch's recorded steps): those mappings are pure
functions of the row, so every service reads a row the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from turnout.controlplane.domain.desired_state import DesiredState
from turnout.controlplane.domain.switch_machine import Step, advance_phases
from turnout.protocol import AbsentPinPolicy, Binding, Colour, DeploymentPaths, Role, Strategy
from turnout.protocol.crossing import Crossing, MirrorSide
from turnout.protocol.mirror import MirrorSpec
from turnout.protocol.processing import ProcessingSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Stable constraint names, so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Cluster(Base):
    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kafka_bootstrap: Mapped[str] = mapped_column(String(1000))
    zookeeper_connect: Mapped[str] = mapped_column(String(1000))
    zookeeper_root: Mapped[str] = mapped_column(String(1000))
    #: The name of the credentials the control plane uses for this cluster, resolved by
    #: the server process (``coordination.credentials``); None: the process's own. Never
    #: a secret.
    credentials: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: The team that owns the deployment; tokens scoped to the team see it (None: no team).
    team: Mapped[str | None] = mapped_column(String(200), index=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="RESTRICT"))
    #: The ZooKeeper (SASL) user of this deployment's agents: when set, and the control
    #: plane has an identity, only that user and the control plane may write the
    #: deployment's agent directories (``coordination.acl``). None: open directories.
    zookeeper_user: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: ``{"group": ..., "topics": [...]}``
    live: Mapped[dict[str, Any]]
    preview: Mapped[dict[str, Any] | None]
    strategy: Mapped[str] = mapped_column(String(32))
    #: ``ProcessingSettings`` as JSON, its ``version`` included. Fields missing from a
    #: stored object read as their defaults (rows migrated from the ordering and workers
    #: columns hold only those).
    processing: Mapped[dict[str, Any]]
    drain_timeout_ms: Mapped[int]
    absent_pin_policy: Mapped[str] = mapped_column(String(32))
    #: ``{"blue": {"version": ..., "role": ...}, "green": {...}}``: the desired roles. A
    #: colour consuming a mirror's copies (cluster migration) also holds ``"via_mirror"``
    #: (the mirror deployment's name) and ``"cluster"`` (its target cluster's name).
    colours: Mapped[dict[str, Any]]
    #: ``{"<topic>/<partition>": "<instance>"}``
    pins: Mapped[dict[str, Any]]
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The newest directive epoch known to be written to ZooKeeper (0: none yet).
    epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    #: A mirror's copy: ``{"source_alias", "naming", "prefix", "template",
    #: "coordinate_headers"}`` (``schemas.mirrors.MirrorBody``); None: not a mirror.
    mirror: Mapped[dict[str, Any] | None]
    #: A mirror's target cluster; a cluster a mirror writes to cannot be deleted.
    mirror_target_cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="RESTRICT"), nullable=True
    )
    #: Optimistic concurrency (ETag / If-Match); SQLAlchemy bumps it on every UPDATE.
    version: Mapped[int] = mapped_column(default=1)

    cluster: Mapped[Cluster] = relationship(
        lazy="joined", innerjoin=True, foreign_keys=[cluster_id]
    )
    mirror_target: Mapped[Cluster | None] = relationship(
        lazy="joined", foreign_keys=[mirror_target_cluster_id]
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)

    def roles(self) -> dict[Colour, Role]:
        return {c: Role(self.colours[c.value]["role"]) for c in Colour}

    def active_colour(self) -> Colour:
        """The colour whose role is live (exactly one is: the API refuses anything else)."""
        return next(c for c, r in self.roles().items() if r is Role.LIVE)

    def make_live(self, colour: Colour) -> None:
        """Give ``colour`` the live role and the previously live colour ``colour``'s role."""
        roles = self.roles()
        old = self.active_colour()
        colours = {c: dict(v) for c, v in self.colours.items()}
        colours[colour.value]["role"] = Role.LIVE.value
        colours[old.value]["role"] = roles[colour].value
        self.colours = colours

    def processing_settings(self) -> ProcessingSettings:
        return ProcessingSettings.model_validate(self.processing)

    def paths(self) -> DeploymentPaths:
        """Where the deployment lives in its cluster's ZooKeeper."""
        return DeploymentPaths(self.cluster.zookeeper_root, self.name)

    def live_binding(self) -> Binding:
        """The live binding; a mirror's source topic pattern (kept with its mirror
        part) is the binding's ``topic_pattern``, resolved by its agents."""
        pattern = None if self.mirror is None else self.mirror.get("source_topic_pattern")
        return _binding(self.live, pattern)

    def preview_binding(self) -> Binding | None:
        return None if self.preview is None else _binding(self.preview, None)

    def desired_state(self) -> DesiredState:
        """What the directive must say for this row (see ``domain.desired_state``)."""
        return DesiredState(
            deployment=self.name,
            live=self.live_binding(),
            preview=self.preview_binding(),
            roles=self.roles(),
            strategy=Strategy(self.strategy),
            pins=dict(self.pins),
            absent_pin_policy=AbsentPinPolicy(self.absent_pin_policy),
            paused=self.paused,
            drain_timeout_ms=self.drain_timeout_ms,
            processing=self.processing_settings(),
            mirror=self.mirror_spec(),
            crossings=self.crossings(),
        )

    def colour_cluster(self, colour: Colour) -> str:
        """The cluster ``colour`` runs on: a mirror's target, or the deployment's own."""
        return str(self.colours[colour.value].get("cluster") or self.cluster.name)

    def crossings(self) -> dict[Colour, Crossing]:
        """Each colour's side of the mirror a colour consumes across; empty when neither
        does (``protocol.crossing``)."""
        across = [c for c in Colour if self.colours[c.value].get("via_mirror")]
        if not across:
            return {}
        (copies,) = across
        mirror = str(self.colours[copies.value]["via_mirror"])
        return {
            c: Crossing(
                mirror=mirror,
                side=MirrorSide.COPIES if c is copies else MirrorSide.SOURCE,
                cluster=self.colour_cluster(c),
            )
            for c in Colour
        }

    def mirror_spec(self) -> MirrorSpec | None:
        """What the directive says of the mirror; None for any other deployment."""
        if self.mirror is None or self.mirror_target is None:
            return None
        return MirrorSpec(
            target_cluster=self.mirror_target.name,
            target_kafka=self.mirror_target.kafka_bootstrap,
            **self.mirror,
        )


def _binding(data: dict[str, Any], pattern: str | None) -> Binding:
    return Binding(group=data["group"], topics=tuple(data["topics"]), topic_pattern=pattern)


class Switch(Base):
    __tablename__ = "switches"
    __table_args__ = (
        # At most one in-flight switch per deployment, enforced by the database itself:
        # ``in_flight`` is TRUE while the switch runs and NULL afterwards, and NULLs never
        # collide in a unique constraint (SQLite and PostgreSQL alike).
        UniqueConstraint("deployment_id", "in_flight", name="uq_switches_one_in_flight"),
        UniqueConstraint("deployment_id", "idempotency_key", name="uq_switches_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    from_colour: Mapped[str] = mapped_column(String(8))
    to_colour: Mapped[str] = mapped_column(String(8))
    epoch: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None]
    timeout_s: Mapped[float]
    deadline_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    in_flight: Mapped[bool | None] = mapped_column(Boolean, default=True)
    #: ``[{"name", "started_at", "ended_at"}]`` in phase order (ISO strings).
    phases: Mapped[list[Any]]

    deployment: Mapped[Deployment] = relationship(lazy="joined", innerjoin=True)

    def enter(self, step: Step, at: datetime) -> None:
        """Record the state-machine step ``step`` taken at ``at`` (phases, state, end)."""
        self.phases = advance_phases(self.phases, step.state, at.isoformat())
        self.state = step.state.value
        if step.state.terminal:
            self.reason = step.reason
            self.finished_at = at
            # NULL frees the one-in-flight unique constraint for the next switch.
            self.in_flight = None


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: SHA-256 hex of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: After this the token no longer authenticates (None: never; only tokens that
    #: predate expiry have none).
    expires_at: Mapped[datetime | None]
    #: When the token last authenticated, to a resolution of ``LAST_USED_RESOLUTION_S``.
    last_used_at: Mapped[datetime | None]
    #: The secret replaced by the latest rotation, valid until ``previous_expires_at``.
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_expires_at: Mapped[datetime | None]
    #: ``{"patterns": [...], "teams": [...]}``: the deployments the token may see and act
    #: on (see ``scopes.DeploymentScope``). None: every deployment.
    scope: Mapped[dict[str, Any] | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    deployment: Mapped[str | None] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]]


class LagSample(Base):
    __tablename__ = "lag_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    total: Mapped[int]
    #: ``{"<topic>/<partition>": {"lag": int, "committed": int|None, "owned": bool}}``
    partitions: Mapped[dict[str, Any]]
