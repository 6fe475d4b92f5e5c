"""Deployments: the record of intent, and its directive in ZooKeeper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turnout.controlplane.coordination import DesiredState, apply_directive, delete_directive
from turnout.controlplane.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    UnavailableError,
)
from turnout.controlplane.models import Deployment, Switch
from turnout.controlplane.runtime import Runtime
from turnout.controlplane.schemas import (
    BindingBody,
    ColourPublic,
    DeploymentCreate,
    DeploymentPublic,
    DeploymentUpdate,
    Ordering,
    Page,
    SwitchPublic,
)
from turnout.controlplane.services import audit
from turnout.controlplane.services.clusters import get_cluster
from turnout.controlplane.switch_machine import IN_FLIGHT
from turnout.controlplane.zklinks import ZkDownError, ZkLink
from turnout.protocol import (
    AbsentPinPolicy,
    Binding,
    Colour,
    DeploymentPaths,
    Role,
    Strategy,
)
from turnout.protocol.directives import DirectiveConflictError


def get_deployment(session: Session, name: str, *, for_update: bool = False) -> Deployment:
    query = select(Deployment).where(Deployment.name == name)
    if for_update:
        # Re-read under the lock: an object already in the session may be stale.
        query = query.with_for_update(of=Deployment).execution_options(populate_existing=True)
    deployment = session.scalar(query)
    if deployment is None:
        raise NotFoundError(f"no deployment named {name!r}")
    return deployment


def roles_of(deployment: Deployment) -> dict[Colour, Role]:
    return {Colour(c): Role(deployment.colours[c.value]["role"]) for c in Colour}


def active_colour(deployment: Deployment) -> Colour:
    return next(c for c, r in roles_of(deployment).items() if r is Role.LIVE)


def paths_of(deployment: Deployment) -> DeploymentPaths:
    return DeploymentPaths(deployment.cluster.zookeeper_root, deployment.name)


def link_of(runtime: Runtime, deployment: Deployment) -> ZkLink:
    return runtime.zk.get(deployment.cluster.zookeeper_connect)


def binding_of(data: dict[str, Any] | None) -> Binding | None:
    return None if data is None else Binding(group=data["group"], topics=tuple(data["topics"]))


def desired_state(deployment: Deployment) -> DesiredState:
    live = binding_of(deployment.live)
    assert live is not None  # the column is NOT NULL
    return DesiredState(
        deployment=deployment.name,
        live=live,
        preview=binding_of(deployment.preview),
        roles=roles_of(deployment),
        strategy=Strategy(deployment.strategy),
        pins=dict(deployment.pins),
        absent_pin_policy=AbsentPinPolicy(deployment.absent_pin_policy),
        paused=deployment.paused,
        drain_timeout_ms=deployment.drain_timeout_ms,
    )


def in_flight_switch(session: Session, deployment: Deployment) -> Switch | None:
    return session.scalar(
        select(Switch).where(
            Switch.deployment_id == deployment.id, Switch.state.in_([s.value for s in IN_FLIGHT])
        )
    )


def last_switch(session: Session, deployment: Deployment) -> Switch | None:
    return session.scalar(
        select(Switch)
        .where(Switch.deployment_id == deployment.id)
        .order_by(Switch.requested_at.desc())
        .limit(1)
    )


def public(
    deployment: Deployment, last: Switch | None, switch_public: Callable[[Switch], SwitchPublic]
) -> DeploymentPublic:
    return DeploymentPublic(
        name=deployment.name,
        cluster=deployment.cluster.name,
        live=BindingBody.model_validate(deployment.live),
        preview=None
        if deployment.preview is None
        else BindingBody.model_validate(deployment.preview),
        strategy=Strategy(deployment.strategy),
        ordering=Ordering(deployment.ordering),
        workers=deployment.workers,
        drain_timeout_ms=deployment.drain_timeout_ms,
        absent_pin_policy=AbsentPinPolicy(deployment.absent_pin_policy),
        colours={
            Colour(c): ColourPublic(version=v["version"], role=Role(v["role"]))
            for c, v in deployment.colours.items()
        },
        active_colour=active_colour(deployment),
        pins=dict(deployment.pins),
        paused=deployment.paused,
        epoch=deployment.epoch,
        last_switch=None if last is None else switch_public(last),
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
        version=deployment.version,
    )


def view(session: Session, deployment: Deployment) -> DeploymentPublic:
    from turnout.controlplane.services.switches import switch_public

    return public(deployment, last_switch(session, deployment), switch_public)


def etag(deployment: Deployment) -> str:
    return f'"{deployment.version}"'


def list_deployments(session: Session, *, limit: int, offset: int) -> Page[DeploymentPublic]:
    count = session.scalar(select(func.count()).select_from(Deployment)) or 0
    rows = session.scalars(
        select(Deployment).order_by(Deployment.name).limit(limit).offset(offset)
    ).all()
    return Page[DeploymentPublic](data=[view(session, row) for row in rows], count=count)


def require_zk(runtime: Runtime, connect: str) -> ZkLink:
    """The cluster's link if ZooKeeper is reachable now; 503 with the reason otherwise."""
    link = runtime.zk.get(connect)
    try:
        link.require()
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    return link


def write_directive(
    runtime: Runtime, session: Session, deployment: Deployment, *, operation_id: str | None
) -> int:
    """Write the deployment's desired state (as flushed in ``session``) to ZooKeeper.

    On failure the caller's transaction is rolled back, so the database never records an
    intent that was refused: 503 when ZooKeeper is unreachable, 409 when another writer
    kept winning the compare-and-set.
    """
    link = link_of(runtime, deployment)
    try:
        epoch = apply_directive(
            link,
            paths_of(deployment),
            desired_state(deployment),
            known_epoch=deployment.epoch,
            operation_id=operation_id,
        )
    except ZkDownError as exc:
        session.rollback()
        raise UnavailableError(str(exc)) from exc
    except DirectiveConflictError as exc:
        session.rollback()
        raise ConflictError(str(exc)) from exc
    deployment.epoch = max(deployment.epoch, epoch)
    return epoch


def create_deployment(
    runtime: Runtime, session: Session, *, body: DeploymentCreate, actor: str
) -> Deployment:
    cluster = get_cluster(session, body.cluster)
    require_zk(runtime, cluster.zookeeper_connect)
    roles = body.roles()
    deployment = Deployment(
        name=body.name,
        cluster=cluster,
        live=body.live.model_dump(),
        preview=None if body.preview is None else body.preview.model_dump(),
        strategy=body.strategy.value,
        ordering=body.ordering.value,
        workers=body.workers,
        drain_timeout_ms=body.drain_timeout_ms,
        absent_pin_policy=body.absent_pin_policy.value,
        colours={
            Colour.BLUE.value: {"version": body.colours.blue.version, "role": roles[Colour.BLUE]},
            Colour.GREEN.value: {
                "version": body.colours.green.version,
                "role": roles[Colour.GREEN],
            },
        },
        pins=dict(body.pins),
        paused=body.paused,
        epoch=0,
    )
    session.add(deployment)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"a deployment named {body.name!r} already exists") from exc
    epoch = write_directive(runtime, session, deployment, operation_id=None)
    audit.record(
        session,
        actor=actor,
        action="deployment.create",
        deployment=body.name,
        detail={**body.model_dump(mode="json"), "epoch": epoch},
    )
    session.commit()
    return deployment


def update_deployment(
    runtime: Runtime,
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
    require_zk(runtime, deployment.cluster.zookeeper_connect)
    changes = body.model_dump(exclude_unset=True, mode="json")
    if ("live" in changes or "preview" in changes) and in_flight_switch(session, deployment):
        raise ConflictError(f"a switch of {name!r} is in flight; change bindings after it ends")
    if changes.get("live") is None:
        changes.pop("live", None)
    preview_cleared = "preview" in changes and changes["preview"] is None
    if preview_cleared and Role.PREVIEW in roles_of(deployment).values():
        raise ConflictError("a colour has the preview role; it needs the preview binding")
    if (
        changes.get("preview") is not None
        and changes["preview"]["group"] == (changes.get("live") or deployment.live)["group"]
    ):
        raise ConflictError("the preview binding needs a consumer group of its own")
    colours = changes.pop("colours", None) or {}
    updated_colours = {c: dict(v) for c, v in deployment.colours.items()}
    for colour, value in colours.items():
        if value is not None:
            updated_colours[colour]["version"] = value["version"]
    deployment.colours = updated_colours
    for key, value in changes.items():
        if value is None and key not in ("preview",):
            continue
        setattr(deployment, key, value)
    session.flush()
    epoch = write_directive(runtime, session, deployment, operation_id=None)
    audit.record(
        session,
        actor=actor,
        action="deployment.update",
        deployment=name,
        detail={**body.model_dump(exclude_unset=True, mode="json"), "epoch": epoch},
    )
    session.commit()
    return deployment


def delete_deployment(runtime: Runtime, session: Session, *, name: str, actor: str) -> None:
    deployment = get_deployment(session, name, for_update=True)
    link = require_zk(runtime, deployment.cluster.zookeeper_connect)
    try:
        delete_directive(link, paths_of(deployment))
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    session.delete(deployment)
    audit.record(session, actor=actor, action="deployment.delete", deployment=name)
    session.commit()


def set_paused(
    runtime: Runtime, session: Session, *, name: str, paused: bool, actor: str
) -> Deployment:
    deployment = get_deployment(session, name, for_update=True)
    require_zk(runtime, deployment.cluster.zookeeper_connect)
    deployment.paused = paused
    session.flush()
    running = in_flight_switch(session, deployment)
    epoch = write_directive(
        runtime, session, deployment, operation_id=None if running is None else running.id
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
