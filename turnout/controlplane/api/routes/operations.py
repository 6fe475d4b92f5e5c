"""Operations on a deployment's partitions: pins (preview, then write) and offset resets
(dry run, then execute)."""

from __future__ import annotations

from fastapi import APIRouter

from turnout.controlplane.api.access import DeploymentOperator
from turnout.controlplane.api.deps import ContextDep, SessionDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import DeploymentName
from turnout.controlplane.schemas.deployments import DeploymentPublic
from turnout.controlplane.schemas.offsets import OffsetResetRequest, OffsetResetResult
from turnout.controlplane.schemas.pins import PinsPreview, PinsRequest
from turnout.controlplane.services import deployments, offsets, pins

router = APIRouter(prefix="/deployments/{name}", tags=["operations"])


@router.post("/pins/preview", response_model=PinsPreview, responses=error_responses(404, 503))
def preview_pins(
    context: ContextDep,
    session: SessionDep,
    _: DeploymentOperator,
    name: DeploymentName,
    body: PinsRequest,
) -> PinsPreview:
    """The partition moves these pins would cause now (nothing is written)."""
    return pins.preview_pins(context, session, name=name, body=body)


@router.put("/pins", response_model=DeploymentPublic, responses=error_responses(404, 409, 503))
def put_pins(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentOperator,
    name: DeploymentName,
    body: PinsRequest,
) -> DeploymentPublic:
    """Replace the pins (non-empty pins switch the strategy to manual); new epoch."""
    changed = pins.put_pins(context, session, name=name, body=body, actor=who.name)
    return deployments.view(session, changed)


@router.post(
    "/offsets/reset", response_model=OffsetResetResult, responses=error_responses(404, 409, 503)
)
def reset_offsets(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentOperator,
    name: DeploymentName,
    body: OffsetResetRequest,
) -> OffsetResetResult:
    """Plan (dry_run) or execute an offset reset of a binding's consumer group."""
    return offsets.reset_offsets(context, session, name=name, body=body, actor=who.name)
