"""Request dependencies as typed aliases, so route signatures read like plain Python."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from turnout.controlplane.api.params import DeploymentName
from turnout.controlplane.context import AppContext
from turnout.controlplane.domain.scope import DeploymentScope
from turnout.controlplane.models import utc_now
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.authentication import (
    AuthenticationFailedError,
    FailureReason,
    authenticate,
)
from turnout.controlplane.stream_tickets import StreamTickets


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


#: Requests that only read: their session never takes SQLite's write lock (``db``).
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def get_session(context: ContextDep, request: Request) -> Iterator[Session]:
    read_only = request.method in READ_ONLY_METHODS
    with (context.read_sessions if read_only else context.sessions)() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An API token: `turnout token create`")


@dataclass(frozen=True)
class Principal:
    name: str
    role: ApiRole
    #: The deployments it may see and act on; None: all of them. No default on purpose:
    #: whatever builds a Principal (a bearer token, a stream credential) must carry the
    #: token's scope, or it would silently widen to every deployment.
    scope: DeploymentScope | None


def _principal(session: Session, token: str | None) -> Principal:
    """The token's identity; a refused token raises ``AuthenticationFailedError`` (401),
    which the app writes to the audit log and counts against the source's rate limit."""
    row = authenticate(session, token, utc_now())
    return Principal(
        name=row.name, role=ApiRole(row.role), scope=DeploymentScope.from_json(row.scope)
    )


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _principal(session, None if credentials is None else credentials.credentials)


def get_stream_tickets(request: Request) -> StreamTickets[Principal]:
    tickets: StreamTickets[Principal] = request.app.state.stream_tickets
    return tickets


StreamTicketsDep = Annotated[StreamTickets[Principal], Depends(get_stream_tickets)]

#: Longer than any ticket (``tst_`` + 43 characters); anything longer is not one.
MAX_TICKET_LENGTH = 100


def get_stream_principal(
    session: SessionDep,
    tickets: StreamTicketsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    name: DeploymentName,
    ticket: Annotated[
        str | None,
        Query(
            max_length=MAX_TICKET_LENGTH,
            description="A stream ticket (POST .../stream-tickets): EventSource cannot "
            "send headers",
        ),
    ] = None,
    access_token: Annotated[
        str | None,
        Query(include_in_schema=False, description="Refused: a token never goes in a URL"),
    ] = None,
) -> Principal:
    """The bearer token's principal, or the stream ticket's (spent by this request).

    A refused ticket or a token in the URL is a failed authentication like a bad bearer
    token: audited, and counted against the source's rate limit (a ticket guesser is a
    token guesser).

    ``access_token`` in the URL is refused even alongside a valid credential: a client
    still sending it leaks its token into every access log on the way, and must hear so.
    """
    if access_token is not None:
        raise AuthenticationFailedError(
            FailureReason.TOKEN_IN_URL,
            detail="access_token in the URL is not accepted: get a single-use stream ticket "
            f"with POST /api/v1/deployments/{name}/stream-tickets and pass ?ticket=, or send "
            "an Authorization: Bearer header",
        )
    if credentials is not None or ticket is None:
        return _principal(session, None if credentials is None else credentials.credentials)
    principal = tickets.redeem(ticket, name)
    if principal is None:
        raise AuthenticationFailedError(
            FailureReason.TICKET,
            detail=f"stream ticket unknown, already used, expired or not for {name!r}: "
            "get a new one",
        )
    return principal


def _needs(role: ApiRole, principal: Principal) -> Principal:
    if not principal.role.allows(role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{principal.name!r} has role {principal.role}; this needs {role}",
        )
    return principal


def require_viewer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return _needs(ApiRole.VIEWER, principal)


def require_operator(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return _needs(ApiRole.OPERATOR, principal)


def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return _needs(ApiRole.ADMIN, principal)


def require_viewer_sse(
    principal: Annotated[Principal, Depends(get_stream_principal)],
) -> Principal:
    return _needs(ApiRole.VIEWER, principal)


Viewer = Annotated[Principal, Depends(require_viewer)]
Operator = Annotated[Principal, Depends(require_operator)]
Admin = Annotated[Principal, Depends(require_admin)]
ViewerSse = Annotated[Principal, Depends(require_viewer_sse)]

#: Largest page size; bigger lists are paged.
MAX_LIMIT = 500
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip")]
