"""API tokens: create (shown once), list (no secrets), rotate, revoke.

A token's lifecycle: created with an expiry (the request's or the server default) and
optionally a scope; each rotation gives it a new secret and a new expiry while the
replaced secret keeps working for a grace period (two valid secrets, so clients change
over without downtime; a second rotation inside the grace period ends the first
replaced secret at once); deleting the row revokes it, at once, since every request looks
the token up in the database (see ``services.authentication``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turnout.controlplane.domain.scope import DeploymentScope
from turnout.controlplane.errors import ConflictError, NotFoundError
from turnout.controlplane.models import ApiToken, utc_now
from turnout.controlplane.responses import token_public
from turnout.controlplane.schemas.admin import TokenCreated, TokenPublic, TokenScope
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.security import ApiRole, hash_token, new_token
from turnout.controlplane.services import audit
from turnout.controlplane.settings import DEFAULT_TOKEN_TTL_S


def create_token(
    session: Session,
    *,
    name: str,
    role: ApiRole,
    actor: str,
    ttl_s: float = DEFAULT_TOKEN_TTL_S,
    scope: DeploymentScope | None = None,
) -> TokenCreated:
    token = new_token()
    expires_at = utc_now() + timedelta(seconds=ttl_s)
    session.add(
        ApiToken(
            name=name,
            role=role.value,
            token_hash=hash_token(token),
            expires_at=expires_at,
            scope=None if scope is None else scope.to_json(),
        )
    )
    audit.record(
        session,
        actor=actor,
        action="token.create",
        detail={
            "name": name,
            "role": role,
            "expires_at": expires_at.isoformat(),
            "scope": None if scope is None else scope.to_json(),
        },
    )
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"a token named {name!r} already exists") from exc
    return TokenCreated(
        name=name, role=role, token=token, expires_at=expires_at, scope=TokenScope.of(scope)
    )


def rotate_token(
    session: Session, *, name: str, actor: str, ttl_s: float, grace_s: float
) -> TokenCreated:
    """A new secret for ``name``; the one it replaces works ``grace_s`` longer (never past
    its own expiry), and a secret replaced before that stops now."""
    row = _get(session, name)
    now = utc_now()
    token = new_token()
    previous_until: datetime | None = now + timedelta(seconds=grace_s)
    if row.expires_at is not None and previous_until is not None:
        previous_until = min(previous_until, row.expires_at)
    if previous_until is not None and previous_until <= now:
        previous_until = None
    row.previous_token_hash = None if previous_until is None else row.token_hash
    row.previous_expires_at = previous_until
    row.token_hash = hash_token(token)
    row.expires_at = now + timedelta(seconds=ttl_s)
    audit.record(
        session,
        actor=actor,
        action="token.rotate",
        detail={
            "name": name,
            "expires_at": row.expires_at.isoformat(),
            "previous_valid_until": None if previous_until is None else previous_until.isoformat(),
        },
    )
    session.commit()
    return TokenCreated(
        name=name,
        role=ApiRole(row.role),
        token=token,
        expires_at=row.expires_at,
        scope=TokenScope.of(DeploymentScope.from_json(row.scope)),
        previous_valid_until=previous_until,
    )


def list_tokens(session: Session, *, limit: int, offset: int) -> Page[TokenPublic]:
    count = session.scalar(select(func.count()).select_from(ApiToken)) or 0
    rows = session.scalars(select(ApiToken).order_by(ApiToken.name).limit(limit).offset(offset))
    return Page[TokenPublic](data=[token_public(row) for row in rows], count=count)


def delete_token(session: Session, *, name: str, actor: str) -> None:
    """Revoke: the next request with either of its secrets fails."""
    session.delete(_get(session, name))
    audit.record(session, actor=actor, action="token.delete", detail={"name": name})
    session.commit()


def _get(session: Session, name: str) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    return row
