"""A deployment's live state, its lag history, and the server-sent events that follow both."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from turnout.controlplane.api.access import DeploymentStreamViewer, DeploymentViewer
from turnout.controlplane.api.deps import ContextDep, SessionDep, StreamTicketsDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import DeploymentName
from turnout.controlplane.context import AppContext
from turnout.controlplane.models import utc_now
from turnout.controlplane.queries import get_deployment
from turnout.controlplane.schemas.live_state import LagHistory, StatePublic, StreamTicketOut
from turnout.controlplane.services import live_state, switches
from turnout.controlplane.services.authentication import still_valid

router = APIRouter(prefix="/deployments/{name}", tags=["state"])

#: A comment line this often keeps proxies from closing an idle event stream.
KEEPALIVE_S = 15.0
#: How many recent switches the event stream follows.
EVENT_SWITCHES = 5


@router.get("/state", response_model=StatePublic, responses=error_responses(404))
def read_state(
    context: ContextDep, session: SessionDep, _: DeploymentViewer, name: DeploymentName
) -> StatePublic:
    """Live state: instances, partition owners, committed and end offsets, lag."""
    return live_state.live_state(context, session, get_deployment(session, name))


@router.get("/lag", response_model=LagHistory, responses=error_responses(404))
def read_lag(
    session: SessionDep,
    _: DeploymentViewer,
    name: DeploymentName,
    window_s: Annotated[float, Query(gt=0, le=86_400)] = 900,
) -> LagHistory:
    """Sampled lag of the live binding over the last ``window_s`` seconds."""
    return live_state.lag_history(session, get_deployment(session, name), window_s)


@router.post(
    "/stream-tickets",
    response_model=StreamTicketOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404),
)
def create_stream_ticket(
    request: Request,
    session: SessionDep,
    tickets: StreamTicketsDep,
    who: DeploymentViewer,
    name: DeploymentName,
) -> StreamTicketOut:
    """A single-use ticket that opens this deployment's event stream as the caller, for
    clients that cannot send a header (EventSource). Short-lived; one per connection."""
    get_deployment(session, name)
    issued = tickets.issue(who, name)
    events = request.url_for("stream_events", name=name).path
    return StreamTicketOut(
        ticket=issued.ticket,
        expires_in_s=issued.expires_in_s,
        events_url=f"{events}?ticket={issued.ticket}",
    )


class _TokenGone(Exception):
    pass


def _snapshot(context: AppContext, name: str, token_name: str) -> tuple[str, dict[str, str]]:
    with context.read_sessions() as session:
        refused = still_valid(session, token_name, utc_now())
        if refused is not None:
            raise _TokenGone(f"the stream's token is no longer valid ({refused.value}): it ends")
        deployment = get_deployment(session, name)
        state = live_state.live_state(context, session, deployment).model_dump_json()
        recent = switches.list_switches(
            session, deployment=name, state=None, limit=EVENT_SWITCHES, offset=0
        )
        return state, {s.id: s.model_dump_json() for s in recent.data}


@router.get(
    "/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "state and switch events"},
        **error_responses(404),
    },
    response_class=StreamingResponse,
)
async def stream_events(
    context: ContextDep,
    session: SessionDep,
    who: DeploymentStreamViewer,
    name: DeploymentName,
    request: Request,
) -> StreamingResponse:
    """Server-sent events: ``state`` on every change (and at connect), ``switch`` per change.

    Authenticates with a bearer header, or with ``?ticket=`` from ``POST
    .../stream-tickets`` (single-use: a reconnect needs a new ticket). Ends after
    ``events_max_age_s``, so a client re-authenticates at least that often; ends at
    once (an ``error`` event) when its token is revoked or expires."""
    get_deployment(session, name)  # 404 before the stream starts
    session.close()
    interval = context.settings.events_interval_s
    ends_at = time.monotonic() + context.settings.events_max_age_s

    async def events() -> AsyncIterator[str]:
        last_state: str | None = None
        last_switches: dict[str, str] = {}
        quiet = 0.0
        while time.monotonic() < ends_at and not await request.is_disconnected():
            try:
                state, recent = await anyio.to_thread.run_sync(_snapshot, context, name, who.name)
            except Exception as exc:  # token revoked, deleted meanwhile, DB gone: say so, end
                yield _event("error", {"detail": str(exc)})
                return
            sent = False
            if state != last_state:
                last_state, sent = state, True
                yield f"event: state\ndata: {state}\n\n"
            for switch_id, body in reversed(list(recent.items())):
                if last_switches.get(switch_id) != body:
                    last_switches[switch_id], sent = body, True
                    yield f"event: switch\ndata: {body}\n\n"
            quiet = 0.0 if sent else quiet + interval
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keepalive\n\n"
            await anyio.sleep(interval)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(kind: str, body: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(body)}\n\n"
