"""Request dependencies as typed aliases, so route signatures read like plain Python."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.domain.scope import DeploymentScope
from turnout.controlplane.models import utc_now
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.authentication import authenticate


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
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


def get_principal_or_query(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None, Query(description="Token for EventSource, which cannot send headers")
    ] = None,
) -> Principal:
    token = credentials.credentials if credentials is not None else access_token
    return _principal(session, token)


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
    principal: Annotated[Principal, Depends(get_principal_or_query)],
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
