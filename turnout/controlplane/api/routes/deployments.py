"""Deployments: create, read, change (``If-Match`` against the ETag), delete, pause and
resume. Every change writes a new directive epoch before it answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from turnout.controlplane.api.access import (
    DeploymentAdmin,
    DeploymentCreator,
    DeploymentOperator,
    DeploymentViewer,
    ListViewer,
    require_in_scope,
)
from turnout.controlplane.api.deps import ContextDep, Limit, Offset, SessionDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import DeploymentName
from turnout.controlplane.queries import get_deployment, visible_deployment_names
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.schemas.deployments import (
    DeploymentCreate,
    DeploymentPublic,
    DeploymentUpdate,
)
from turnout.controlplane.services import deployments

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.get("", response_model=Page[DeploymentPublic], responses=error_responses())
def read_deployments(
    session: SessionDep, who: ListViewer, limit: Limit = 50, offset: Offset = 0
) -> Page[DeploymentPublic]:
    """List deployments (a scoped token: the ones in its scope)."""
    return deployments.list_deployments(
        session, visible=visible_deployment_names(session, who.scope), limit=limit, offset=offset
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeploymentPublic,
    responses=error_responses(404, 409, 503),
)
def create_deployment(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentCreator,
    body: DeploymentCreate,
    response: Response,
) -> DeploymentPublic:
    """Create a deployment and write its first directive to ZooKeeper. A scoped token
    may create only deployments its scope covers (403 otherwise)."""
    require_in_scope(who, body.name, body.team)
    created = deployments.create_deployment(context, session, body=body, actor=who.name)
    response.headers["ETag"] = deployments.etag(created)
    return deployments.view(session, created)


@router.get("/{name}", response_model=DeploymentPublic, responses=error_responses(404))
def read_deployment(
    session: SessionDep, _: DeploymentViewer, name: DeploymentName, response: Response
) -> DeploymentPublic:
    """Get a deployment; the ETag header is its version, for If-Match."""
    found = get_deployment(session, name)
    response.headers["ETag"] = deployments.etag(found)
    return deployments.view(session, found)


@router.patch(
    "/{name}", response_model=DeploymentPublic, responses=error_responses(404, 409, 412, 503)
)
def update_deployment(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentAdmin,
    name: DeploymentName,
    body: DeploymentUpdate,
    response: Response,
    if_match: Annotated[
        str | None, Header(max_length=200, description="ETag from a previous GET")
    ] = None,
) -> DeploymentPublic:
    """Change a deployment (bindings, team, strategy, hints, version labels); new epoch.
    A scoped token may not move it to a team outside its scope (403)."""
    if "team" in body.model_fields_set:
        require_in_scope(who, name, body.team)
    updated = deployments.update_deployment(
        context, session, name=name, body=body, if_match=if_match, actor=who.name
    )
    response.headers["ETag"] = deployments.etag(updated)
    return deployments.view(session, updated)


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 503)
)
def delete_deployment(
    context: ContextDep, session: SessionDep, who: DeploymentAdmin, name: DeploymentName
) -> None:
    """Delete a deployment and its directive (agents then own nothing)."""
    deployments.delete_deployment(context, session, name=name, actor=who.name)


@router.post(
    "/{name}/pause", response_model=DeploymentPublic, responses=error_responses(404, 409, 503)
)
def pause_deployment(
    context: ContextDep, session: SessionDep, who: DeploymentOperator, name: DeploymentName
) -> DeploymentPublic:
    """Pause consumption (agents keep their partitions, stop fetching)."""
    changed = deployments.set_paused(context, session, name=name, paused=True, actor=who.name)
    return deployments.view(session, changed)


@router.post(
    "/{name}/resume", response_model=DeploymentPublic, responses=error_responses(404, 409, 503)
)
def resume_deployment(
    context: ContextDep, session: SessionDep, who: DeploymentOperator, name: DeploymentName
) -> DeploymentPublic:
    """Resume consumption."""
    changed = deployments.set_paused(context, session, name=name, paused=False, actor=who.name)
    return deployments.view(session, changed)
