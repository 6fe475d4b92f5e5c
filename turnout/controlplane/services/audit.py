"""The audit log: every mutation, with its actor (the API token's name)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from turnout.controlplane.models import AuditEntry
from turnout.controlplane.responses import audit_public
from turnout.controlplane.schemas.admin import AuditPublic
from turnout.controlplane.schemas.common import Page


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    deployment: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the caller's transaction: it commits with the change it describes."""
    session.add(AuditEntry(actor=actor, action=action, deployment=deployment, detail=detail or {}))


def list_entries(
    session: Session,
    *,
    deployment: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    offset: int,
    visible: Collection[str] | None = None,
) -> Page[AuditPublic]:
    """Newest first. With ``visible`` (a scoped reader), only entries about those
    deployments: entries about no deployment (tokens, clusters, failed authentications)
    are for unscoped readers."""
    query = select(AuditEntry)
    if visible is not None:
        query = query.where(AuditEntry.deployment.in_(visible))
    if deployment is not None:
        query = query.where(AuditEntry.deployment == deployment)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return Page[AuditPublic](data=[audit_public(row) for row in rows], count=count)
