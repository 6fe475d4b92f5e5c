"""Clusters: where deployments' Kafka and ZooKeeper are (admins change, viewers read)."""

from __future__ import annotations

from fastapi import APIRouter, status

from turnout.controlplane.api.access import SharedViewer, UnscopedAdmin
from turnout.controlplane.api.deps import ContextDep, Limit, Offset, SessionDep
from turnout.controlplane.api.openapi import error_responses
from turnout.controlplane.api.params import ClusterName
from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.credentials import CredentialsError
from turnout.controlplane.errors import InvalidError
from turnout.controlplane.schemas.clusters import ClusterCreate, ClusterPublic, ClusterUpdate
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.services import clusters

router = APIRouter(prefix="/clusters", tags=["clusters"])


def _check_credentials(context: AppContext, name: str | None) -> None:
    """422 unless this server can resolve the credentials ``name`` (the reason says why)."""
    try:
        context.zookeeper.credentials.resolve(name)
    except CredentialsError as exc:
        raise InvalidError(str(exc)) from None


@router.get("", response_model=Page[ClusterPublic], responses=error_responses())
def read_clusters(
    session: SessionDep, _: SharedViewer, limit: Limit = 50, offset: Offset = 0
) -> Page[ClusterPublic]:
    """List clusters."""
    return clusters.list_clusters(session, limit=limit, offset=offset)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClusterPublic,
    responses=error_responses(409),
)
def create_cluster(
    session: SessionDep, context: ContextDep, who: UnscopedAdmin, body: ClusterCreate
) -> ClusterPublic:
    """Register a cluster: its Kafka bootstrap, ZooKeeper connect string and root, and the
    name of the credentials the server uses for it (never a secret)."""
    _check_credentials(context, body.credentials)
    return clusters.create_cluster(session, body=body, actor=who.name)


@router.get("/{name}", response_model=ClusterPublic, responses=error_responses(404))
def read_cluster(session: SessionDep, _: SharedViewer, name: ClusterName) -> ClusterPublic:
    """Get a cluster."""
    return clusters.read_cluster(session, name)


@router.put("/{name}", response_model=ClusterPublic, responses=error_responses(404))
def update_cluster(
    session: SessionDep,
    context: ContextDep,
    who: UnscopedAdmin,
    name: ClusterName,
    body: ClusterUpdate,
) -> ClusterPublic:
    """Change a cluster's addresses or credentials name."""
    _check_credentials(context, body.credentials)
    return clusters.update_cluster(session, name=name, body=body, actor=who.name)


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409)
)
def delete_cluster(session: SessionDep, who: UnscopedAdmin, name: ClusterName) -> None:
    """Delete a cluster that no deployment uses."""
    clusters.delete_cluster(session, name=name, actor=who.name)
