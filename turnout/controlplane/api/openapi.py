"""OpenAPI descriptions of the error responses routes can give (all ``{"detail": ...}``).

Every route can answer 401 and 403; ``error_responses(404, 409)`` adds the others it can give.
"""

from __future__ import annotations

from typing import Any

from turnout.controlplane.schemas.common import ErrorOut


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing or invalid bearer token",
        403: "The token's role is too low",
        404: "No such resource",
        409: "Conflict: a switch in flight, partitions still owned, or the name is taken",
        412: "If-Match does not match the current ETag",
        503: "ZooKeeper or Kafka unreachable; the reason is in detail",
    }
    return {code: {"model": ErrorOut, "description": text[code]} for code in (401, 403, *codes)}
