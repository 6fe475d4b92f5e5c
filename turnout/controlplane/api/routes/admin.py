"""Who the caller is, the audit log, and API tokens (tokens are admin-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from turnout.controlplane.api.access import Caller, ListViewer, UnscopedAdmin
from turnout.controlplane.api.deps import ContextDep, Limit, Offset, SessionDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import TokenName
from turnout.controlplane.queries import visible_deployment_names
from turnout.controlplane.schemas.admin import (
    AuditPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokenRotate,
    TokenScope,
    WhoAmI,
)
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.services import audit, tokens

router = APIRouter(tags=["admin"])


@router.get("/whoami", response_model=WhoAmI, responses=error_responses())
def read_whoami(who: Caller) -> WhoAmI:
    """The caller's token name, role and scope."""
    return WhoAmI(name=who.name, role=who.role, scope=TokenScope.of(who.scope))


@router.get("/audit", response_model=Page[AuditPublic], responses=error_responses())
def read_audit(
    session: SessionDep,
    who: ListViewer,
    deployment: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditPublic]:
    """Every mutation and failed authentication with its actor, newest first; a scoped
    token reads only the entries about its deployments."""
    return audit.list_entries(
        session,
        deployment=deployment,
        actor=actor,
        action=action,
        limit=limit,
        offset=offset,
        visible=visible_deployment_names(session, who.scope),
    )


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=error_responses(409),
)
def create_token(
    context: ContextDep, session: SessionDep, who: UnscopedAdmin, body: TokenCreate
) -> TokenCreated:
    """Create a token; its secret is in this response only."""
    return tokens.create_token(
        session,
        name=body.name,
        role=body.role,
        actor=who.name,
        ttl_s=body.expires_in_s or context.settings.token_ttl_s,
        scope=None if body.scope is None else body.scope.to_scope(),
    )


@router.get("/tokens", response_model=Page[TokenPublic], responses=error_responses())
def read_tokens(
    session: SessionDep, _: UnscopedAdmin, limit: Limit = 50, offset: Offset = 0
) -> Page[TokenPublic]:
    """List tokens (names, roles, scopes, expiry and last use; never secrets)."""
    return tokens.list_tokens(session, limit=limit, offset=offset)


@router.delete(
    "/tokens/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
def delete_token(session: SessionDep, who: UnscopedAdmin, name: TokenName) -> None:
    """Revoke a token, at once."""
    tokens.delete_token(session, name=name, actor=who.name)


@router.post("/tokens/{name}/rotate", response_model=TokenCreated, responses=error_responses(404))
def rotate_token(
    context: ContextDep,
    session: SessionDep,
    who: UnscopedAdmin,
    name: TokenName,
    body: TokenRotate | None = None,
) -> TokenCreated:
    """A new secret (in this response only); the replaced one keeps working for the grace
    period (``grace_s``, default the server's ``token_rotation_grace_s``)."""
    change = body or TokenRotate()
    return tokens.rotate_token(
        session,
        name=name,
        actor=who.name,
        ttl_s=change.expires_in_s or context.settings.token_ttl_s,
        grace_s=(
            context.settings.token_rotation_grace_s if change.grace_s is None else change.grace_s
        ),
    )
