"""The authorization matrix: every route of the OpenAPI spec by caller (no token; a viewer,
an operator and an admin token scoped to team ``alpha``; an unscoped admin) by a target
deployment in or out of the scope, against the outcome the route's access declaration
(``api.access``) documents: 401, 403, 404, or allowed (any answer but those, below 500).

A route added without an access declaration fails ``test_every_route_declares_its_access``;
one declared but not enforced fails the matrix. Allowed answers of scoped callers must not
mention the out-of-scope deployment anywhere (lists, counts, audit reads).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.integration.controlplane.kit import cp_settings, deployment_body, start_with_cluster
from tests.support.controlplane import RunningControlPlane
from tests.support.services import Services
from turnout.controlplane.api.access import Access, Target, access_of
from turnout.controlplane.app import API_PREFIX, create_app
from turnout.controlplane.domain.scope import DeploymentScope
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.tokens import create_token
from turnout.controlplane.settings import ControlPlaneSettings

SCOPE = DeploymentScope(teams=("alpha",))
VISIBLE = "alpha-orders"
HIDDEN = "zz-hidden-beta"
#: The matrix sends a few dozen requests without a token; none may be throttled.
NO_THROTTLE = 10_000


@dataclass(frozen=True)
class Caller:
    label: str
    role: ApiRole | None
    scoped: bool
    token: str | None


@contextmanager
def _app(settings: ControlPlaneSettings) -> Iterator[FastAPI]:
    app = create_app(settings.model_copy(update={"background": False}))
    try:
        yield app
    finally:
        app.state.context.close()


def _api_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """``(path, method)`` of every API operation, with the route declaring it (the app's
    routes are included routers; their contexts give the full path)."""
    found: dict[tuple[str, str], APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (context.path or "").startswith(API_PREFIX):
            for method in route.methods:
                found[(str(context.path), method)] = route
    return found


def _declared(route: APIRoute) -> list[Access]:
    return access_of([dependency.call for dependency in route.dependant.dependencies])


def expected(access: Access, caller: Caller, in_scope: bool) -> str:
    if caller.role is None:
        return "401"
    if not caller.role.allows(access.role):
        return "403"
    if caller.scoped and access.target is Target.EVERYTHING:
        return "403"
    if caller.scoped and not in_scope and access.target in (Target.DEPLOYMENT, Target.SWITCH):
        return "404"
    return "allowed"


def outcome(status: int) -> str:
    if status in (401, 403, 404):
        return str(status)
    return "allowed" if status < 500 and status != 429 else f"error {status}"


def test_every_route_declares_its_access(sqlite_controlplane: RunningControlPlane) -> None:
    with _app(sqlite_controlplane.settings) as app:
        operations = {
            (path, method.upper())
            for path, item in app.openapi()["paths"].items()
            for method in item
            if path.startswith(API_PREFIX)
        }
        routes = _api_routes(app)
        assert operations == set(routes)
        undeclared = {key: len(_declared(r)) for key, r in routes.items() if len(_declared(r)) != 1}
        assert undeclared == {}, "routes without exactly one access declaration"


def _callers(database_url: str) -> list[Caller]:
    from turnout.controlplane.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            scoped = [
                Caller(
                    f"{role.value} scoped",
                    role,
                    True,
                    create_token(
                        session, name=f"m-{role.value}", role=role, actor="test", scope=SCOPE
                    ).token,
                )
                for role in ApiRole
            ]
            unscoped = create_token(session, name="m-root", role=ApiRole.ADMIN, actor="test")
    finally:
        engine.dispose()
    return [
        Caller("no token", None, False, None),
        *scoped,
        Caller("admin", ApiRole.ADMIN, False, unscoped.token),
    ]


class Targets:
    """Path values for each case; disposable deployments and tokens for DELETE cases."""

    def __init__(self, admin: httpx.Client) -> None:
        self.admin = admin
        self.serial = itertools.count()
        self.switch_of: dict[bool, str] = {}
        for in_scope, name in ((True, VISIBLE), (False, HIDDEN)):
            self._deployment(name, in_scope)
            started = admin.post(
                f"/api/v1/deployments/{name}/switch", json={"to": "green", "force": True}
            )
            assert started.status_code == 202, started.text
            self.switch_of[in_scope] = started.json()["id"]

    def _deployment(self, name: str, in_scope: bool) -> str:
        body = deployment_body(name, f"g-{name}", ["t"], team="alpha" if in_scope else "beta")
        created = self.admin.post("/api/v1/deployments", json=body)
        assert created.status_code == 201, created.text
        return name

    def path(self, template: str, method: str, target: Target, in_scope: bool) -> str:
        serial = next(self.serial)
        values: dict[str, str] = {}
        if target is Target.DEPLOYMENT:
            values["name"] = VISIBLE if in_scope else HIDDEN
            if method == "DELETE":
                prefix = "alpha-del" if in_scope else "zz-hidden-del"
                values["name"] = self._deployment(f"{prefix}-{serial}", in_scope)
        elif target is Target.SWITCH:
            values["switch_id"] = self.switch_of[in_scope]
        elif template.startswith(f"{API_PREFIX}/clusters/"):
            values["name"] = "local"
        elif template.startswith(f"{API_PREFIX}/tokens/"):
            victim = f"victim-{serial}"
            created = self.admin.post("/api/v1/tokens", json={"name": victim, "role": "viewer"})
            assert created.status_code == 201, created.text
            values["name"] = victim
        return template.format(**values)


def _send(
    client: httpx.Client, method: str, path: str, query: dict[str, str], body: Any, caller: Caller
) -> tuple[int, str]:
    headers = {} if caller.token is None else {"Authorization": f"Bearer {caller.token}"}
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    with client.stream(method, path, **kwargs) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.status_code, ""  # a live stream: its status is the answer
        return response.status_code, response.read().decode()


def test_every_route_answers_each_caller_as_declared(
    sqlite_url: str, zk_root: str, services: Services
) -> None:
    from contextlib import ExitStack

    settings = cp_settings(sqlite_url, zk_root, services.kafka, auth_failure_limit=NO_THROTTLE)
    with ExitStack() as stack:
        running = start_with_cluster(settings, stack)
        callers = _callers(sqlite_url)
        mismatches: list[str] = []
        leaks: list[str] = []
        cases = 0
        with running.client() as admin, httpx.Client(base_url=running.url, timeout=30) as client:
            targets = Targets(admin)
            with _app(settings) as app:
                spec = app.openapi()["paths"]
                routes = _api_routes(app)
            for (template, method), route in sorted(routes.items()):
                [access] = _declared(route)
                operation = spec[template][method.lower()]
                query_names = [
                    p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
                ]
                body = {} if "requestBody" in operation else None
                for caller, in_scope in itertools.product(callers, (True, False)):
                    cases += 1
                    path = targets.path(template, method, access.target, in_scope)
                    query = {"deployment": HIDDEN} if "deployment" in query_names else {}
                    if in_scope and query:
                        query = {"deployment": VISIBLE}
                    status, text = _send(client, method, path, query, body, caller)
                    want = expected(access, caller, in_scope)
                    if outcome(status) != want:
                        mismatches.append(
                            f"{method} {template} as {caller.label}, "
                            f"{'in' if in_scope else 'out of'} scope: {status}, "
                            f"declared {access.role}/{access.target} wants {want}: {text[:200]}"
                        )
                    if caller.scoped and outcome(status) == "allowed" and HIDDEN in text:
                        leaks.append(f"{method} {path} as {caller.label} shows {HIDDEN}")
        assert mismatches == []
        assert leaks == []
        assert cases >= 10 * len(callers) * 2
