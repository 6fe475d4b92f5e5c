"""Failed authentications: each is written to the audit log with its source and counted
against the source address's rate limit (``auth_throttle``); a throttled address gets 429.

The audit entry holds the source address, the method and path, the reason and the token's
name when the secret belonged to a known token (an expired or replaced one); never the
secret. Requests refused with 429 are not audited one by one: the limit exists to bound
what a guesser (or a misconfigured client) costs, audit rows included.
"""

from __future__ import annotations

import anyio
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from turnout.controlplane.api.deps import ContextDep
from turnout.controlplane.context import AppContext
from turnout.controlplane.errors import ApiError
from turnout.controlplane.services import audit
from turnout.controlplane.services.authentication import AuthenticationFailedError

#: The audit log's actor for a failure whose secret matched no token.
ANONYMOUS = "anonymous"


class ThrottledError(ApiError):
    status_code = 429

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed authentications; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def source_of(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def refuse_throttled_source(request: Request, context: ContextDep) -> None:
    """Runs before authentication on every API route."""
    retry_after_s = context.auth_throttle.retry_after_s(source_of(request))
    if retry_after_s is not None:
        raise ThrottledError(retry_after_s)


def _record(context: AppContext, request: Request, exc: AuthenticationFailedError) -> None:
    with context.sessions() as session:
        audit.record(
            session,
            actor=exc.token_name or ANONYMOUS,
            action="auth.failure",
            detail={
                "source": source_of(request),
                "method": request.method,
                "path": request.url.path,
                "reason": exc.reason.value,
                "token": exc.token_name,
            },
        )
        session.commit()


async def authentication_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthenticationFailedError)
    context: AppContext = request.app.state.context
    context.auth_throttle.record_failure(source_of(request))
    await anyio.to_thread.run_sync(_record, context, request, exc)
    return JSONResponse(
        {"detail": exc.detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


async def throttled(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThrottledError)
    return JSONResponse(
        {"detail": exc.detail},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after_s)},
    )
