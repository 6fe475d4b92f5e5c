"""Switches and rollbacks: accepted (202) once the directive is written; the leader's
watcher follows each to its end, which the switch resources show."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, status

from turnout.controlplane.api.access import (
    DeploymentOperator,
    DeploymentViewer,
    ListViewer,
    SwitchViewer,
)
from turnout.controlplane.api.deps import ContextDep, Limit, Offset, SessionDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import DeploymentName, SwitchId
from turnout.controlplane.domain.switch_machine import SwitchState
from turnout.controlplane.queries import get_deployment, get_switch, visible_deployment_names
from turnout.controlplane.responses import switch_public
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.schemas.switches import RollbackRequest, SwitchPublic, SwitchRequest
from turnout.controlplane.services import switches

router = APIRouter(tags=["switches"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Repeating a request with the same key returns the first result",
    ),
]


@router.post(
    "/deployments/{name}/switch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SwitchPublic,
    responses=error_responses(404, 409, 503),
)
def switch_deployment(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentOperator,
    name: DeploymentName,
    body: SwitchRequest,
    idempotency_key: IdempotencyKey = None,
) -> SwitchPublic:
    """Make the other colour live. 409 while another switch of the deployment is in flight,
    and (unless ``force``) while the colour is not ready, after waiting ``wait_ready_ms``."""
    started, _ = switches.request_switch(
        context,
        session,
        name=name,
        to=body.to,
        gate=body,
        timeout_s=body.timeout_s,
        idempotency_key=idempotency_key,
        actor=who.name,
    )
    return switch_public(started)


@router.post(
    "/deployments/{name}/rollback",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SwitchPublic,
    responses=error_responses(404, 409, 503),
)
def rollback_deployment(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentOperator,
    name: DeploymentName,
    body: Annotated[RollbackRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> SwitchPublic:
    """Switch back to the colour that was live before the latest switch; readiness is
    gated as for a switch."""
    started, _ = switches.request_switch(
        context,
        session,
        name=name,
        to=None,
        gate=RollbackRequest() if body is None else body,
        timeout_s=None if body is None else body.timeout_s,
        idempotency_key=idempotency_key,
        actor=who.name,
        kind="rollback",
    )
    return switch_public(started)


@router.get(
    "/deployments/{name}/switches",
    response_model=Page[SwitchPublic],
    responses=error_responses(404),
)
def read_deployment_switches(
    session: SessionDep,
    _: DeploymentViewer,
    name: DeploymentName,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SwitchPublic]:
    """Switch history of one deployment, newest first."""
    get_deployment(session, name)
    return switches.list_switches(session, deployment=name, state=None, limit=limit, offset=offset)


@router.get("/switches", response_model=Page[SwitchPublic], responses=error_responses())
def read_switches(
    session: SessionDep,
    who: ListViewer,
    deployment: Annotated[str | None, Query(max_length=200)] = None,
    state: SwitchState | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SwitchPublic]:
    """Switches of all deployments, newest first."""
    return switches.list_switches(
        session,
        deployment=deployment,
        state=state,
        limit=limit,
        offset=offset,
        visible=visible_deployment_names(session, who.scope),
    )


@router.get("/switches/{switch_id}", response_model=SwitchPublic, responses=error_responses(404))
def read_switch(session: SessionDep, _: SwitchViewer, switch_id: SwitchId) -> SwitchPublic:
    """One switch with its phase timings."""
    return switch_public(get_switch(session, switch_id))
