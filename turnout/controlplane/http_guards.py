"""ASGI middlewares that guard every request: the body size limit and HSTS.

Both sit outside the routes, so no route can forget them.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Refuses a request body larger than ``max_bytes`` with 413, before the route reads
    it when Content-Length announces it, and while reading otherwise (chunked bodies):
    a client cannot make the control plane buffer an unbounded body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes
        self._detail = f"request body larger than {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self._max_bytes:
                await self._refuse(send)
                return
        received = 0

        async def counting_receive() -> Message:
            # Raised inside the app, so its exception handling answers 413 the way it
            # answers every HTTP error, whichever middleware already wraps it.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max_bytes:
                    raise HTTPException(413, self._detail)
            return message

        await self._app(scope, counting_receive, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self._detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class StrictTransportSecurity:
    """Adds ``Strict-Transport-Security`` to responses of requests that came over HTTPS
    (directly, or through a trusted proxy that said so in X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, max_age_s: int) -> None:
        self._app = app
        self._header = (b"strict-transport-security", f"max-age={max_age_s}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self._app(scope, receive, send)
            return

        async def adding_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self._header]}
            await send(message)

        await self._app(scope, receive, adding_send)
