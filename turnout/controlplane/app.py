"""The app factory: ``create_app(settings)`` builds one control plane (no globals).

It refuses to build on a database that is not at the migrations' head: migrating is an
explicit step (``turnout controlplane migrate``), never a side effect of serving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm.exc import StaleDataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout.controlplane.api import auth_failures
from turnout.controlplane.api.deps import Principal
from turnout.controlplane.api.routes import (
    admin,
    clusters,
    deployments,
    operations,
    state,
    switches,
)
from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.db import check_schema
from turnout.controlplane.errors import ApiError, InvalidFieldsError
from turnout.controlplane.http_guards import BodySizeLimit, StrictTransportSecurity
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.leader import LeaderLoop
from turnout.controlplane.schemas.common import ErrorOut, Health
from turnout.controlplane.services.authentication import AuthenticationFailedError
from turnout.controlplane.settings import DEFAULT_WEB_DIST, ControlPlaneSettings
from turnout.controlplane.stream_tickets import StreamTickets

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: Where a wheel carries the built dashboard, inside this package (see hatch_build.py).
PACKAGED_DASHBOARD = "dashboard"


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


class _MetricsMiddleware:
    """Counts requests by route template (not raw path: ids would explode cardinality)."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self._app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics = self._context.metrics
            metrics.http_requests.labels(scope["method"], template, str(status)).inc()
            metrics.http_seconds.labels(scope["method"], template).observe(
                time.perf_counter() - started
            )


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        detail = exc.fields if isinstance(exc, InvalidFieldsError) else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code)

    async def unavailable(_: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    async def concurrent_change(_: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"detail": f"changed concurrently by another request; retry: {exc}"},
            status_code=409,
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500
        )

    app.add_exception_handler(AuthenticationFailedError, auth_failures.authentication_failed)
    app.add_exception_handler(auth_failures.ThrottledError, auth_failures.throttled)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ZkDownError, unavailable)
    app.add_exception_handler(KafkaDownError, unavailable)
    app.add_exception_handler(StaleDataError, concurrent_change)
    app.add_exception_handler(Exception, unexpected)


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": ErrorOut, "description": "database or ZooKeeper unreachable"}},
    )
    def readyz(request: Request) -> Response:
        """Database and ZooKeeper reachable."""
        context: AppContext = request.app.state.context
        checks: dict[str, str] = {}
        try:
            with context.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any driver error means "not ready", with the reason
            checks["database"] = f"unreachable: {type(exc).__name__}: {exc}"
        try:
            context.zookeeper.require(context.settings.zookeeper_connect)
            checks["zookeeper"] = "ok"
        except ZkDownError as exc:
            checks["zookeeper"] = f"unreachable: {exc}"
        failing = {k: v for k, v in checks.items() if v != "ok"}
        if failing:
            detail = "; ".join(f"{k} {v}" for k, v in failing.items())
            return JSONResponse({"detail": detail, "checks": checks}, status_code=503)
        return JSONResponse(Health(status="ok", checks=checks).model_dump())

    @router.get("/metrics", response_class=Response)
    def metrics(request: Request) -> Response:
        """Prometheus metrics of this replica."""
        context: AppContext = request.app.state.context
        return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _dashboard_dir(configured: Path) -> Path | None:
    """The built dashboard to serve: the configured directory when it exists (by default
    the source checkout's web/dist); left at that default in an installed wheel, which has
    no checkout, the copy the wheel carries. None: there is no dashboard to serve."""
    if configured.is_dir():
        return configured
    if configured == DEFAULT_WEB_DIST:
        packaged = resources.files("turnout.controlplane").joinpath(PACKAGED_DASHBOARD)
        if isinstance(packaged, Path) and packaged.is_dir():
            return packaged
    return None


def _mount_dashboard(app: FastAPI, dist: Path) -> None:
    """Serve the built dashboard at / with a single-page-app fallback to index.html."""
    root = dist.resolve()
    index = root / "index.html"

    @app.get("/{path:path}", include_in_schema=False)
    def dashboard(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            return JSONResponse({"detail": f"no API route /{path}"}, status_code=404)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        if index.is_file():
            return FileResponse(index)
        return JSONResponse({"detail": "the dashboard is not built"}, status_code=404)


def create_app(
    settings: ControlPlaneSettings, *, context: AppContext | None = None, **fastapi: Any
) -> FastAPI:
    context = context or AppContext.build(settings)
    check_schema(context.engine)
    leader_loop = LeaderLoop(context) if settings.background else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Start connecting before the first request.
        context.zookeeper.get(settings.zookeeper_connect)
        if leader_loop is not None:
            leader_loop.start()
        try:
            yield
        finally:
            if leader_loop is not None:
                leader_loop.stop()
            context.close()

    app = FastAPI(
        title="Turnout control plane",
        version="1",
        description="Blue/green consumer orchestration for Apache Kafka: deployments, "
        "switches, manual assignment and live state. Contract: docs/api.md.",
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        **fastapi,
    )
    app.state.context = context
    app.state.stream_tickets = StreamTickets[Principal]()
    app.state.leader_loop = leader_loop
    api = APIRouter(
        prefix=API_PREFIX, dependencies=[Depends(auth_failures.refuse_throttled_source)]
    )
    for module in (admin, clusters, deployments, switches, operations, state):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(_health_router())
    _install_error_handlers(app)
    app.add_middleware(_MetricsMiddleware, context=context)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.hsts_max_age_s > 0:
        app.add_middleware(StrictTransportSecurity, max_age_s=settings.hsts_max_age_s)
    dashboard = _dashboard_dir(settings.web_dist)
    if dashboard is not None:
        _mount_dashboard(app, dashboard)
    return app


__all__ = ["API_PREFIX", "create_app"]
