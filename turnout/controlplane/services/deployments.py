"""Deployments: the record of intent, and its directive in ZooKeeper."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.coordination.directives import delete_directive
from turnout.controlplane.domain.processing_changes import (
    InvalidProcessingError,
    apply_change,
    changes,
    initial_settings,
)
from turnout.controlplane.errors import (
    ConflictError,
    InvalidFieldsError,
    PreconditionFailedError,
    UnavailableError,
)
from turnout.controlplane.models import Cluster, Deployment
from turnout.controlplane.queries import get_cluster, get_deployment, in_flight_switch, last_switch
from turnout.controlplane.responses import deployment_public
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.schemas.deployments import (
    NO_TOPICS,
    DeploymentCreate,
    DeploymentPublic,
    DeploymentUpdate,
)
from turnout.controlplane.schemas.mirrors import MirrorBody
from turnout.controlplane.services import audit, crossings
from turnout.controlplane.services.directive_writes import require_zookeeper, write_directive
from turnout.protocol import Colour, Role
from turnout.protocol.mirror import SOURCE_ALIAS, TopicNameError, TopicNaming
from turnout.protocol.processing import ProcessingSettings


def view(session: Session, deployment: Deployment) -> DeploymentPublic:
    """The deployment's public body, with its latest switch."""
    return deployment_public(deployment, last_switch(session, deployment))


def etag(deployment: Deployment) -> str:
    return f'"{deployment.version}"'


def _checked(current: ProcessingSettings | None, change: Mapping[str, Any]) -> ProcessingSettings:
    """The settings after ``change`` (``current`` None: a new deployment's); 422 naming
    each refused field of the body's ``processing`` object."""
    try:
        return initial_settings(change) if current is None else apply_change(current, change)
    except InvalidProcessingError as exc:
        raise InvalidFieldsError(
            [(("body", "processing", *p.path), p.message) for p in exc.problems]
        ) from None


def _processing_audit(old: ProcessingSettings, new: ProcessingSettings) -> dict[str, Any]:
    return {
        "processing_version": new.version,
        "processing_changes": [
            {"field": c.field, "old": c.old, "new": c.new} for c in changes(old, new)
        ],
    }


def _mirror_target(session: Session, body: DeploymentCreate, source: Cluster) -> Cluster:
    """The mirror's target cluster; 422 naming the field when it cannot be one."""
    assert body.mirror is not None
    field = ("body", "mirror", "target_cluster")
    name = body.mirror.target_cluster
    target = session.scalar(select(Cluster).where(Cluster.name == name))
    if target is None:
        raise InvalidFieldsError([(field, f"no cluster named {name!r}")])
    if target.id == source.id:
        raise InvalidFieldsError([(field, "a mirror copies to another cluster than its source")])
    naming = body.mirror.topic_naming(_default_alias(source))
    _check_target_topics(naming, body.live.topics, ("body", "mirror", "naming"))
    return target


def _check_target_topics(
    naming: TopicNaming, topics: Collection[str], field: tuple[str, ...]
) -> None:
    """422 for each topic whose copy's name Kafka would refuse."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for topic in topics:
        try:
            naming.target_topic(topic)
        except TopicNameError as exc:
            problems.append((field, str(exc)))
    if problems:
        raise InvalidFieldsError(problems)


def _default_alias(source: Cluster) -> str:
    """The source cluster's name as the default alias, where it is one."""
    return source.name if re.fullmatch(SOURCE_ALIAS, source.name) else "source"


def _stored_mirror(mirror: MirrorBody, source: Cluster) -> dict[str, Any]:
    fields = mirror.model_dump(mode="json", exclude={"target_cluster"})
    fields["source_alias"] = mirror.source_alias or _default_alias(source)
    return fields


def list_deployments(
    session: Session, *, visible: Collection[str] | None, limit: int, offset: int
) -> Page[DeploymentPublic]:
    """A page of the deployments named in ``visible`` (None: all)."""
    query = select(Deployment)
    if visible is not None:
        query = query.where(Deployment.name.in_(visible))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Deployment.name).limit(limit).offset(offset)).all()
    return Page[DeploymentPublic](data=[view(session, row) for row in rows], count=count)


def create_deployment(
    context: AppContext, session: Session, *, body: DeploymentCreate, actor: str
) -> Deployment:
    cluster = get_cluster(session, body.cluster)
    require_zookeeper(context, cluster)
    roles = body.roles()
    processing = _checked(None, body.processing)
    mirror_target = None if body.mirror is None else _mirror_target(session, body, cluster)
    across = crossings.check_create(
        session,
        cluster=cluster,
        topics=body.live.topics,
        has_preview=body.preview is not None,
        is_mirror=body.mirror is not None,
        wanted={
            Colour.BLUE: body.colours.blue.via_mirror,
            Colour.GREEN: body.colours.green.via_mirror,
        },
    )
    deployment = Deployment(
        name=body.name,
        team=body.team,
        cluster=cluster,
        live=body.live.model_dump(),
        preview=None if body.preview is None else body.preview.model_dump(),
        strategy=body.strategy.value,
        processing=processing.model_dump(mode="json"),
        drain_timeout_ms=body.drain_timeout_ms,
        absent_pin_policy=body.absent_pin_policy.value,
        zookeeper_user=body.zookeeper_user,
        colours={
            c.value: {
                "version": colour.version,
                "role": roles[c],
                **across.get(c, {}),
            }
            for c, colour in ((Colour.BLUE, body.colours.blue), (Colour.GREEN, body.colours.green))
        },
        pins=dict(body.pins),
        paused=body.paused,
        epoch=0,
        mirror=None if body.mirror is None else _stored_mirror(body.mirror, cluster),
        mirror_target=mirror_target,
    )
    session.add(deployment)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"a deployment named {body.name!r} already exists") from exc
    epoch = write_directive(context, session, deployment, operation_id=None)
    audit.record(
        session,
        actor=actor,
        action="deployment.create",
        deployment=body.name,
        detail={
            **body.model_dump(mode="json"),
            **_processing_audit(ProcessingSettings(), processing),
            "epoch": epoch,
        },
    )
    session.commit()
    return deployment


def update_deployment(
    context: AppContext,
    session: Session,
    *,
    name: str,
    body: DeploymentUpdate,
    if_match: str | None,
    actor: str,
) -> Deployment:
    deployment = get_deployment(session, name, for_update=True)
    if if_match is not None and if_match.strip() not in (etag(deployment), "*"):
        raise PreconditionFailedError(
            f"deployment {name!r} is at {etag(deployment)}, not {if_match.strip()}"
        )
    require_zookeeper(context, deployment.cluster)
    fields = body.model_dump(exclude_unset=True, mode="json")
    if ("live" in fields or "preview" in fields) and in_flight_switch(session, deployment):
        raise ConflictError(f"a switch of {name!r} is in flight; change bindings after it ends")
    if fields.get("live") is None:
        fields.pop("live", None)
    preview_cleared = "preview" in fields and fields["preview"] is None
    if preview_cleared and Role.PREVIEW in deployment.roles().values():
        raise ConflictError("a colour has the preview role; it needs the preview binding")
    if (
        fields.get("preview") is not None
        and fields["preview"]["group"] == (fields.get("live") or deployment.live)["group"]
    ):
        raise ConflictError("the preview binding needs a consumer group of its own")
    spec = deployment.mirror_spec()
    if fields.get("live") is not None:
        topics = fields["live"]["topics"]
        if not topics and deployment.live_binding().topic_pattern is None:
            raise InvalidFieldsError([(("body", "live", "topics"), f"live.{NO_TOPICS}")])
        if spec is not None:
            _check_target_topics(spec.topic_naming(), topics, ("body", "live", "topics"))
    if fields.get("preview") is not None and not fields["preview"]["topics"]:
        raise InvalidFieldsError([(("body", "preview", "topics"), f"preview.{NO_TOPICS}")])
    old_processing = deployment.processing_settings()
    processing = _checked(old_processing, fields.pop("processing", None) or {})
    deployment.processing = processing.model_dump(mode="json")
    colours = {c: v for c, v in (fields.pop("colours", None) or {}).items() if v is not None}
    if any("via_mirror" in v for v in colours.values()) and in_flight_switch(session, deployment):
        raise ConflictError(f"a switch of {name!r} is in flight; change colours after it ends")
    updated_colours = {c: dict(v) for c, v in deployment.colours.items()}
    for colour, value in colours.items():
        if value.get("version") is not None:
            updated_colours[colour]["version"] = value["version"]
    crossings.apply_update(session, deployment, updated_colours, colours)
    deployment.colours = updated_colours
    for key, value in fields.items():
        if value is None and key not in ("preview", "team"):
            continue
        setattr(deployment, key, value)
    if deployment.preview is not None and deployment.crossings():
        raise ConflictError("a colour consumes a mirror's copies: it has no preview binding")
    if "live" in fields:
        crossings.check_still_covered(session, deployment, ("body", "live", "topics"))
    session.flush()
    epoch = write_directive(context, session, deployment, operation_id=None)
    audit.record(
        session,
        actor=actor,
        action="deployment.update",
        deployment=name,
        detail={
            **body.model_dump(exclude_unset=True, mode="json"),
            **_processing_audit(old_processing, processing),
            "epoch": epoch,
        },
    )
    session.commit()
    return deployment


def delete_deployment(context: AppContext, session: Session, *, name: str, actor: str) -> None:
    deployment = get_deployment(session, name, for_update=True)
    users = crossings.crossing_users(session, deployment) if deployment.mirror else []
    if users:
        raise ConflictError(
            f"a colour of {', '.join(users)} consumes the copies of {name!r}: "
            "move it back to its own cluster first"
        )
    connection = require_zookeeper(context, deployment.cluster)
    try:
        delete_directive(connection, deployment.paths())
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    session.delete(deployment)
    audit.record(session, actor=actor, action="deployment.delete", deployment=name)
    session.commit()


def set_paused(
    context: AppContext, session: Session, *, name: str, paused: bool, actor: str
) -> Deployment:
    deployment = get_deployment(session, name, for_update=True)
    require_zookeeper(context, deployment.cluster)
    deployment.paused = paused
    session.flush()
    running = in_flight_switch(session, deployment)
    epoch = write_directive(
        context, session, deployment, operation_id=None if running is None else running.id
    )
    audit.record(
        session,
        actor=actor,
        action="deployment.pause" if paused else "deployment.resume",
        deployment=name,
        detail={"epoch": epoch},
    )
    session.commit()
    return deployment
