"""API tokens: create (shown once), list (no secrets), delete, authenticate."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turnout.controlplane.errors import ConflictError, NotFoundError
from turnout.controlplane.models import ApiToken
from turnout.controlplane.responses import token_public
from turnout.controlplane.schemas.admin import TokenCreated, TokenPublic
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.security import ApiRole, hash_token, new_token
from turnout.controlplane.services import audit


def create_token(session: Session, *, name: str, role: ApiRole, actor: str) -> TokenCreated:
    token = new_token()
    session.add(ApiToken(name=name, role=role.value, token_hash=hash_token(token)))
    audit.record(session, actor=actor, action="token.create", detail={"name": name, "role": role})
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"a token named {name!r} already exists") from exc
    return TokenCreated(name=name, role=role, token=token)


def list_tokens(session: Session, *, limit: int, offset: int) -> Page[TokenPublic]:
    count = session.scalar(select(func.count()).select_from(ApiToken)) or 0
    rows = session.scalars(select(ApiToken).order_by(ApiToken.name).limit(limit).offset(offset))
    return Page[TokenPublic](data=[token_public(row) for row in rows], count=count)


def delete_token(session: Session, *, name: str, actor: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    session.delete(row)
    audit.record(session, actor=actor, action="token.delete", detail={"name": name})
    session.commit()


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The token's row, or None. Lookup by hash: the hash is the index, not the secret."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
