"""What each route lets a caller reach, declared by the dependency the route takes.

A route's access is a role (viewer, operator, admin: ``deps.require_*``) and a target that
says which deployments the call touches and how a scoped token is held to its scope:

==================  ========================================================  ===========
target              the route touches                                          outside
==================  ========================================================  ===========
``caller``          only the caller's own identity (whoami)                    -
``shared``          what belongs to no team (clusters, read)                   -
``deployment``      the deployment ``{name}`` in the path                      404
``switch``          the deployment of the switch ``{switch_id}``              404
``listed``          a list: out-of-scope deployments and their records         left out
``new_deployment``  the deployment the body creates                            403
``everything``      tokens and cluster changes: needs an unscoped token        403
==================  ========================================================  ===========

The checks run in order: no valid token 401, too low a role 403 (whatever the target, so
it tells nothing about which deployments exist), then the target's check. A deployment out
of scope answers exactly as one that does not exist.

``POLICIES`` maps each access dependency to its declaration; the authorization matrix test
checks that every route takes exactly one of them and probes each as declared.
"""

# No ``from __future__ import annotations``: the factories below put their ``role``
# argument inside ``Annotated[...]``, which FastAPI must be able to evaluate.

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends

from turnout.controlplane.api.deps import (
    Principal,
    SessionDep,
    require_admin,
    require_operator,
    require_viewer,
    require_viewer_sse,
)
from turnout.controlplane.domain.scope import covers
from turnout.controlplane.errors import ForbiddenError, NotFoundError
from turnout.controlplane.queries import get_deployment, get_switch
from turnout.controlplane.security import ApiRole


class Target(StrEnum):
    CALLER = "caller"
    SHARED = "shared"
    DEPLOYMENT = "deployment"
    SWITCH = "switch"
    LISTED = "listed"
    NEW_DEPLOYMENT = "new_deployment"
    EVERYTHING = "everything"


@dataclass(frozen=True)
class Access:
    role: ApiRole
    target: Target


AccessCheck = Callable[..., Principal]
POLICIES: dict[AccessCheck, Access] = {}

_ROLE_CHECKS: dict[ApiRole, Callable[..., Principal]] = {
    ApiRole.VIEWER: require_viewer,
    ApiRole.OPERATOR: require_operator,
    ApiRole.ADMIN: require_admin,
}


def _declare(access: Access, check: AccessCheck) -> AccessCheck:
    POLICIES[check] = access
    return check


def require_in_scope(who: Principal, name: str, team: str | None) -> None:
    """403 unless ``who`` may act on a deployment called ``name`` owned by ``team`` (for
    creating or relabelling one, where 404 would make no sense)."""
    if not covers(who.scope, name, team):
        raise ForbiddenError(
            f"{who.name!r} may not act on a deployment named {name!r} of team {team!r}"
        )


def _on_deployment(role_check: Callable[..., Principal], role: ApiRole) -> AccessCheck:
    def check(
        session: SessionDep, who: Annotated[Principal, Depends(role_check)], name: str
    ) -> Principal:
        if who.scope is not None:
            deployment = get_deployment(session, name)
            if not who.scope.covers(deployment.name, deployment.team):
                raise NotFoundError(f"no deployment named {name!r}")
        return who

    return _declare(Access(role, Target.DEPLOYMENT), check)


def _on_switch(role: ApiRole) -> AccessCheck:
    def check(
        session: SessionDep,
        who: Annotated[Principal, Depends(_ROLE_CHECKS[role])],
        switch_id: str,
    ) -> Principal:
        if who.scope is not None:
            deployment = get_switch(session, switch_id).deployment
            if not who.scope.covers(deployment.name, deployment.team):
                raise NotFoundError(f"no switch {switch_id!r}")
        return who

    return _declare(Access(role, Target.SWITCH), check)


def _unscoped(role: ApiRole) -> AccessCheck:
    def check(who: Annotated[Principal, Depends(_ROLE_CHECKS[role])]) -> Principal:
        if who.scope is not None:
            raise ForbiddenError(f"{who.name!r} is scoped; this needs an unscoped token")
        return who

    return _declare(Access(role, Target.EVERYTHING), check)


def _role_only(role: ApiRole, target: Target) -> AccessCheck:
    """Targets the route itself holds to the scope (lists filter, creation checks the
    body) or that no scope limits (the caller, shared resources)."""

    def check(who: Annotated[Principal, Depends(_ROLE_CHECKS[role])]) -> Principal:
        return who

    return _declare(Access(role, target), check)


Caller = Annotated[Principal, Depends(_role_only(ApiRole.VIEWER, Target.CALLER))]
SharedViewer = Annotated[Principal, Depends(_role_only(ApiRole.VIEWER, Target.SHARED))]
ListViewer = Annotated[Principal, Depends(_role_only(ApiRole.VIEWER, Target.LISTED))]
DeploymentViewer = Annotated[Principal, Depends(_on_deployment(require_viewer, ApiRole.VIEWER))]
DeploymentStreamViewer = Annotated[
    Principal, Depends(_on_deployment(require_viewer_sse, ApiRole.VIEWER))
]
DeploymentOperator = Annotated[
    Principal, Depends(_on_deployment(require_operator, ApiRole.OPERATOR))
]
DeploymentAdmin = Annotated[Principal, Depends(_on_deployment(require_admin, ApiRole.ADMIN))]
SwitchViewer = Annotated[Principal, Depends(_on_switch(ApiRole.VIEWER))]
DeploymentCreator = Annotated[Principal, Depends(_role_only(ApiRole.ADMIN, Target.NEW_DEPLOYMENT))]
UnscopedAdmin = Annotated[Principal, Depends(_unscoped(ApiRole.ADMIN))]


def access_of(dependency_calls: list[Any]) -> list[Access]:
    """The declarations among a route's dependencies (the matrix test wants exactly one)."""
    return [POLICIES[call] for call in dependency_calls if call in POLICIES]
