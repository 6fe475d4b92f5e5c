"""The body size limit and HSTS middlewares, on a small ASGI app through httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from turnout.controlplane.http_guards import BodySizeLimit, StrictTransportSecurity

LIMIT = 1024


async def _echo_length(request: Request) -> Response:
    return JSONResponse({"received": len(await request.body())})


def _limited() -> ASGIApp:
    app = Starlette(routes=[Route("/echo", _echo_length, methods=["POST"])])
    return BodySizeLimit(app, max_bytes=LIMIT)


def _post(
    app: ASGIApp, content: bytes | AsyncIterator[bytes], base: str = "http://t"
) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.post("/echo", content=content)

    return asyncio.run(send())


def test_a_body_within_the_limit_reaches_the_route() -> None:
    answer = _post(_limited(), b"x" * LIMIT)
    assert answer.status_code == 200
    assert answer.json() == {"received": LIMIT}


def test_an_announced_body_over_the_limit_is_refused_with_413() -> None:
    answer = _post(_limited(), b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"request body larger than {LIMIT} bytes"}


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * (LIMIT // 2)

    assert _post(_limited(), chunks()).status_code == 413


def test_hsts_is_sent_on_https_responses_only() -> None:
    app = StrictTransportSecurity(_limited(), max_age_s=600)
    assert _post(app, b"", "https://t").headers["strict-transport-security"] == "max-age=600"
    assert "strict-transport-security" not in _post(app, b"", "http://t").headers
