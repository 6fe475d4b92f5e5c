from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, status

from turnout.controlplane.api.deps import Limit, Offset, Operator, RuntimeDep, SessionDep, Viewer
from turnout.controlplane.api.responses import errors
from turnout.controlplane.schemas import Page, RollbackRequest, SwitchPublic, SwitchRequest
from turnout.controlplane.services import switches
from turnout.controlplane.services.deployments import get_deployment
from turnout.controlplane.switch_machine import SwitchState

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
    responses=errors(404, 409, 503),
)
def switch_deployment(
    runtime: RuntimeDep,
    session: SessionDep,
    who: Operator,
    name: str,
    body: SwitchRequest,
    idempotency_key: IdempotencyKey = None,
) -> SwitchPublic:
    """Make the other colour live. 409 while another switch of the deployment is in flight."""
    started, _ = switches.request_switch(
        runtime,
        session,
        name=name,
        to=body.to,
        timeout_s=body.timeout_s,
        idempotency_key=idempotency_key,
        actor=who.name,
    )
    return switches.switch_public(started)


@router.post(
    "/deployments/{name}/rollback",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SwitchPublic,
    responses=errors(404, 409, 503),
)
def rollback_deployment(
    runtime: RuntimeDep,
    session: SessionDep,
    who: Operator,
    name: str,
    body: Annotated[RollbackRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> SwitchPublic:
    """Switch back to the colour that was live before the latest switch."""
    started, _ = switches.request_switch(
        runtime,
        session,
        name=name,
        to=None,
        timeout_s=None if body is None else body.timeout_s,
        idempotency_key=idempotency_key,
        actor=who.name,
        kind="rollback",
    )
    return switches.switch_public(started)


@router.get(
    "/deployments/{name}/switches", response_model=Page[SwitchPublic], responses=errors(404)
)
def read_deployment_switches(
    session: SessionDep, _: Viewer, name: str, limit: Limit = 50, offset: Offset = 0
) -> Page[SwitchPublic]:
    """Switch history of one deployment, newest first."""
    get_deployment(session, name)
    return switches.list_switches(session, deployment=name, state=None, limit=limit, offset=offset)


@router.get("/switches", response_model=Page[SwitchPublic], responses=errors())
def read_switches(
    session: SessionDep,
    _: Viewer,
    deployment: Annotated[str | None, Query(max_length=200)] = None,
    state: SwitchState | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SwitchPublic]:
    """Switches of all deployments, newest first."""
    return switches.list_switches(
        session, deployment=deployment, state=state, limit=limit, offset=offset
    )


@router.get("/switches/{switch_id}", response_model=SwitchPublic, responses=errors(404))
def read_switch(session: SessionDep, _: Viewer, switch_id: str) -> SwitchPublic:
    """One switch with its phase timings."""
    return switches.switch_public(switches.get_switch(session, switch_id))
