"""Who the caller is, the audit log, and API tokens (tokens are admin-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from turnout.controlplane.api.deps import Admin, Limit, Offset, SessionDep, Viewer
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import TokenName
from turnout.controlplane.schemas.admin import (
    AuditPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    WhoAmI,
)
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.services import audit, tokens

router = APIRouter(tags=["admin"])


@router.get("/whoami", response_model=WhoAmI, responses=error_responses())
def read_whoami(who: Viewer) -> WhoAmI:
    """The caller's token name and role."""
    return WhoAmI(name=who.name, role=who.role)


@router.get("/audit", response_model=Page[AuditPublic], responses=error_responses())
def read_audit(
    session: SessionDep,
    _: Viewer,
    deployment: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditPublic]:
    """Every mutation with its actor, newest first."""
    return audit.list_entries(
        session, deployment=deployment, actor=actor, action=action, limit=limit, offset=offset
    )


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=error_responses(409),
)
def create_token(session: SessionDep, who: Admin, body: TokenCreate) -> TokenCreated:
    """Create a token; its secret is in this response only."""
    return tokens.create_token(session, name=body.name, role=body.role, actor=who.name)


@router.get("/tokens", response_model=Page[TokenPublic], responses=error_responses())
def read_tokens(
    session: SessionDep, _: Admin, limit: Limit = 50, offset: Offset = 0
) -> Page[TokenPublic]:
    """List tokens (names and roles, never secrets)."""
    return tokens.list_tokens(session, limit=limit, offset=offset)


@router.delete(
    "/tokens/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
def delete_token(session: SessionDep, who: Admin, name: TokenName) -> None:
    """Revoke a token."""
    tokens.delete_token(session, name=name, actor=who.name)
