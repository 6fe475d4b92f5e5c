"""A small typed HTTP client of the control-plane API (used by the CLI).

It speaks HTTP with the standard library's ``urllib.request`` because a client command
(``turnout status``) is mostly start-up: importing httpx (with, where they are
installed, the click, rich and pygments of its own command-line client) and building its
TLS context would be a large share of it. ``urllib`` honours the same proxy settings
(``HTTPS_PROXY``, ``NO_PROXY``, ...) and verifies TLS with the system's certificates.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

#: One API call; the control plane answers in milliseconds or says 503.
REQUEST_TIMEOUT_S = 15.0
#: How often ``wait_switch`` looks at a switch.
WAIT_POLL_S = 0.2

TERMINAL_STATES = frozenset({"completed", "failed", "timed_out"})


class ClientError(Exception):
    """An HTTP failure or an unreachable control plane, as one readable line."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ControlPlaneClient:
    def __init__(
        self, url: str, token: str | None, *, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout_s = timeout_s

    def close(self) -> None:
        """Nothing to release: each request opens and closes a connection of its own."""

    def __enter__(self) -> ControlPlaneClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """One API call; ``timeout_s`` replaces the client's timeout (a call that waits)."""
        full = f"/api/v1{path}"
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        sent = {**self._headers, **(headers or {})}
        body = None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.url}{full}{query}", data=body, headers=sent, method=method
        )
        timeout = self._timeout_s if timeout_s is None else timeout_s
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, content = response.status, response.read()
        except urllib.error.HTTPError as exc:
            raise ClientError(
                f"{method} {full} failed: HTTP {exc.code}: {_detail(exc.read(), exc.reason)}",
                exc.code,
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise ClientError(f"cannot reach the control plane at {self.url}: {reason}") from exc
        if status == 204 or not content:
            return None
        return jsonlib.loads(content)

    # ---- resources ------------------------------------------------------------------------

    def deployments(self, limit: int = 500) -> list[dict[str, Any]]:
        page = self.request("GET", "/deployments", params={"limit": limit})
        return list(page["data"])

    def deployment(self, name: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/deployments/{name}"))

    def create_deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", "/deployments", json=body))

    def state(self, name: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/deployments/{name}/state"))

    def switch(
        self,
        name: str,
        to: str,
        *,
        timeout_s: float | None = None,
        idempotency_key: str | None = None,
        force: bool = False,
        wait_ready_s: float = 0.0,
    ) -> dict[str, Any]:
        """Start a switch; unless ``force`` the server first waits up to ``wait_ready_s``
        for ``to`` to be ready (and answers 409 if it is not)."""
        body: dict[str, Any] = {"to": to, **_gate(force, wait_ready_s)}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(
            self.request(
                "POST",
                f"/deployments/{name}/switch",
                json=body,
                headers=headers,
                timeout_s=REQUEST_TIMEOUT_S + wait_ready_s,
            )
        )

    def rollback(
        self,
        name: str,
        *,
        timeout_s: float | None = None,
        force: bool = False,
        wait_ready_s: float = 0.0,
    ) -> dict[str, Any]:
        body: dict[str, Any] = _gate(force, wait_ready_s)
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return dict(
            self.request(
                "POST",
                f"/deployments/{name}/rollback",
                json=body,
                timeout_s=REQUEST_TIMEOUT_S + wait_ready_s,
            )
        )

    def change_deployment(self, name: str, change: dict[str, Any]) -> dict[str, Any]:
        """PATCH the deployment with ``change`` (e.g. ``{"processing": {"workers": 32}}``)."""
        return dict(self.request("PATCH", f"/deployments/{name}", json=change))

    def get_switch(self, switch_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/switches/{switch_id}"))

    def wait_switch(self, switch_id: str, timeout_s: float) -> dict[str, Any]:
        """Poll until the switch ends or ``timeout_s`` passes; return its last state."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.get_switch(switch_id)
            if found["state"] in TERMINAL_STATES or time.monotonic() >= deadline:
                return found
            time.sleep(WAIT_POLL_S)

    def pins(
        self, name: str, pins: dict[str, str], *, policy: str, preview: bool
    ) -> dict[str, Any]:
        body = {"pins": pins, "absent_pin_policy": policy}
        if preview:
            return dict(self.request("POST", f"/deployments/{name}/pins/preview", json=body))
        return dict(self.request("PUT", f"/deployments/{name}/pins", json=body))


def _gate(force: bool, wait_ready_s: float) -> dict[str, Any]:
    return {"force": force, "wait_ready_ms": round(wait_ready_s * 1000)}


def _detail(content: bytes, reason: str) -> str:
    try:
        body = jsonlib.loads(content)
    except ValueError:
        return content.decode(errors="replace").strip()[:500] or reason
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI's 422 field detail
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}" for item in detail
        )
    return str(detail)
