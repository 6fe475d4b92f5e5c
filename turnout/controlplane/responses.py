"""Response builders: a database row, or a live reading, as the response schema the API
returns. Routes and services build every ``*Public`` body here, so a field is mapped one
way wherever it appears (a deployment's last switch is the switch resource's body).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from turnout.controlplane.coordination.agent_reports import RegisteredInstance
from turnout.controlplane.domain.lag_status import LagStatus
from turnout.controlplane.domain.readiness import (
    ColourReadiness,
    colour_readiness,
    instance_readiness,
)
from turnout.controlplane.domain.scope import DeploymentScope
from turnout.controlplane.domain.switch_machine import SwitchState
from turnout.controlplane.live_reading import LiveReading, PartitionReading
from turnout.controlplane.models import ApiToken, AuditEntry, Cluster, Deployment, LagSample, Switch
from turnout.controlplane.schemas.admin import AuditPublic, TokenPublic, TokenScope
from turnout.controlplane.schemas.clusters import ClusterPublic
from turnout.controlplane.schemas.deployments import (
    BindingBody,
    ColourPublic,
    DeploymentPublic,
)
from turnout.controlplane.schemas.live_state import (
    ColourReadinessPublic,
    InstancePublic,
    LagPoint,
    PartitionPublic,
    StatePublic,
)
from turnout.controlplane.schemas.mirrors import MirrorPublic
from turnout.controlplane.schemas.switches import PhasePublic, SwitchPublic
from turnout.controlplane.security import ApiRole
from turnout.protocol import AbsentPinPolicy, Colour, Role, Strategy


def cluster_public(cluster: Cluster) -> ClusterPublic:
    return ClusterPublic(
        name=cluster.name,
        kafka_bootstrap=cluster.kafka_bootstrap,
        zookeeper_connect=cluster.zookeeper_connect,
        zookeeper_root=cluster.zookeeper_root,
        credentials=cluster.credentials,
    )


def _mirror_public(deployment: Deployment) -> MirrorPublic | None:
    spec = deployment.mirror_spec()
    if spec is None:
        return None
    naming = spec.topic_naming()
    return MirrorPublic(
        target_cluster=spec.target_cluster,
        source_alias=spec.source_alias,
        naming=naming.mode,
        prefix=spec.prefix,
        template=spec.template,
        coordinate_headers=spec.coordinate_headers,
        source_topic_pattern=deployment.live_binding().topic_pattern,
        target_topics={t: naming.target_topic(t) for t in deployment.live["topics"]},
    )


def deployment_public(deployment: Deployment, last_switch: Switch | None) -> DeploymentPublic:
    return DeploymentPublic(
        name=deployment.name,
        team=deployment.team,
        cluster=deployment.cluster.name,
        live=BindingBody.model_validate(deployment.live),
        preview=None
        if deployment.preview is None
        else BindingBody.model_validate(deployment.preview),
        strategy=Strategy(deployment.strategy),
        processing=deployment.processing_settings(),
        drain_timeout_ms=deployment.drain_timeout_ms,
        absent_pin_policy=AbsentPinPolicy(deployment.absent_pin_policy),
        zookeeper_user=deployment.zookeeper_user,
        mirror=_mirror_public(deployment),
        colours={
            Colour(c): ColourPublic(
                version=v["version"],
                role=Role(v["role"]),
                cluster=deployment.colour_cluster(Colour(c)),
                via_mirror=v.get("via_mirror"),
            )
            for c, v in deployment.colours.items()
        },
        active_colour=deployment.active_colour(),
        pins=dict(deployment.pins),
        paused=deployment.paused,
        epoch=deployment.epoch,
        last_switch=None if last_switch is None else switch_public(last_switch),
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
        version=deployment.version,
    )


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def switch_public(switch: Switch) -> SwitchPublic:
    phases: list[PhasePublic] = []
    for record in switch.phases:
        started, ended = _parse(record["started_at"]), _parse(record["ended_at"])
        duration = (
            None
            if started is None or ended is None
            else round((ended - started).total_seconds() * 1000)
        )
        phases.append(
            PhasePublic(
                name=record["name"], started_at=started, ended_at=ended, duration_ms=duration
            )
        )
    return SwitchPublic(
        id=switch.id,
        deployment=switch.deployment.name,
        kind="rollback" if switch.kind == "rollback" else "switch",
        from_colour=Colour(switch.from_colour),
        to_colour=Colour(switch.to_colour),
        epoch=switch.epoch,
        state=SwitchState(switch.state),
        reason=switch.reason,
        requested_by=switch.requested_by,
        requested_at=switch.requested_at,
        finished_at=switch.finished_at,
        timeout_s=switch.timeout_s,
        phases=phases,
    )


def audit_public(entry: AuditEntry) -> AuditPublic:
    return AuditPublic(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        deployment=entry.deployment,
        detail=entry.detail,
    )


def token_public(token: ApiToken) -> TokenPublic:
    return TokenPublic(
        name=token.name,
        role=ApiRole(token.role),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        previous_valid_until=token.previous_expires_at if token.previous_token_hash else None,
        scope=TokenScope.of(DeploymentScope.from_json(token.scope)),
    )


def instance_public(
    item: RegisteredInstance, *, owns: int, newest_processing: int
) -> InstancePublic:
    """``owns``: the partitions its owner nodes hold, the figure the ownership map shows
    (a status report may be a moment older than the owner nodes)."""
    registration, status = item.registration, item.status
    readiness = instance_readiness(registration, status)
    running = None if status is None else status.processing_version
    return InstancePublic(
        instance=registration.instance,
        colour=registration.colour,
        version=registration.version,
        host=registration.host,
        pid=registration.pid,
        epoch=None if status is None else status.epoch,
        state="registered" if status is None else status.state,
        partitions=owns,
        fenced=False if status is None else status.fenced,
        rate_per_s=None if status is None else status.counters.get("rate_per_s"),
        errors=0 if status is None else int(status.counters.get("errors", len(status.errors))),
        processing_version=running,
        processing_current=None if running is None else running == newest_processing,
        processing_refused=None if status is None else status.processing_refused,
        ready=readiness.ready,
        readiness_note=readiness.note,
    )


def readiness_public(readiness: ColourReadiness) -> ColourReadinessPublic:
    return ColourReadinessPublic(
        ready=readiness.ready,
        instances=len(readiness.instances),
        ready_instances=len(readiness.instances) - len(readiness.not_ready),
        refusal=readiness.refusal(),
    )


def partition_public(reading: PartitionReading) -> PartitionPublic:
    owner = reading.owner
    topic, partition = reading.partition
    return PartitionPublic(
        binding=reading.binding,
        topic=topic,
        partition=partition,
        owner_instance=None if owner is None else owner.instance,
        owner_colour=None if owner is None else owner.colour,
        owner_epoch=None if owner is None else owner.epoch,
        committed_offset=reading.committed_offset,
        end_offset=reading.end_offset,
        lag=reading.lag,
    )


def state_public(deployment: Deployment, reading: LiveReading, status: LagStatus) -> StatePublic:
    owns = Counter(p.owner.instance for p in reading.partitions if p.owner is not None)
    newest_processing = deployment.processing_settings().version
    return StatePublic(
        deployment=deployment.name,
        epoch=deployment.epoch,
        active_colour=deployment.active_colour(),
        paused=deployment.paused,
        zookeeper=reading.zookeeper,
        kafka=reading.kafka,
        instances=[
            instance_public(
                item,
                owns=owns[item.registration.instance],
                newest_processing=newest_processing,
            )
            for item in reading.instances
        ],
        partitions=[partition_public(p) for p in reading.partitions],
        lag_total=sum(p.lag or 0 for p in reading.partitions if p.binding == "live"),
        lag_status=status.name,  # type: ignore[arg-type]
        processing_version=newest_processing,
        clusters={colour: deployment.colour_cluster(colour) for colour in Colour},
        readiness={
            colour: readiness_public(
                colour_readiness(colour, ((i.registration, i.status) for i in reading.instances))
            )
            for colour in Colour
        },
    )


def lag_point(sample: LagSample) -> LagPoint:
    return LagPoint(
        at=sample.at,
        total=sample.total,
        partitions={key: int(v["lag"]) for key, v in sample.partitions.items()},
    )
