from __future__ import annotations

from fastapi import APIRouter

from turnout.controlplane.api.deps import Operator, RuntimeDep, SessionDep
from turnout.controlplane.api.responses import errors
from turnout.controlplane.schemas import (
    DeploymentPublic,
    OffsetResetRequest,
    OffsetResetResult,
    PinsPreview,
    PinsRequest,
)
from turnout.controlplane.services import assignment, deployments, offsets

router = APIRouter(prefix="/deployments/{name}", tags=["operations"])


@router.post("/pins/preview", response_model=PinsPreview, responses=errors(404, 503))
def preview_pins(
    runtime: RuntimeDep, session: SessionDep, _: Operator, name: str, body: PinsRequest
) -> PinsPreview:
    """The partition moves these pins would cause now (nothing is written)."""
    return assignment.preview_pins(runtime, session, name=name, body=body)


@router.put("/pins", response_model=DeploymentPublic, responses=errors(404, 409, 503))
def put_pins(
    runtime: RuntimeDep, session: SessionDep, who: Operator, name: str, body: PinsRequest
) -> DeploymentPublic:
    """Replace the pins (non-empty pins switch the strategy to manual); new epoch."""
    changed = assignment.put_pins(runtime, session, name=name, body=body, actor=who.name)
    return deployments.view(session, changed)


@router.post("/offsets/reset", response_model=OffsetResetResult, responses=errors(404, 409, 503))
def reset_offsets(
    runtime: RuntimeDep, session: SessionDep, who: Operator, name: str, body: OffsetResetRequest
) -> OffsetResetResult:
    """Plan (dry_run) or execute an offset reset of a binding's consumer group."""
    return offsets.reset_offsets(runtime, session, name=name, body=body, actor=who.name)
