"""Errors the services raise; the API maps each to its status code and ``{"detail": ...}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ForbiddenError(ApiError):
    status_code = 403


class NotFoundError(ApiError):
    status_code = 404


class ConflictError(ApiError):
    status_code = 409


class PreconditionFailedError(ApiError):
    status_code = 412


class InvalidError(ApiError):
    """Well-formed but not valid against the current state (e.g. a pin to no partition)."""

    status_code = 422


class InvalidFieldsError(ApiError):
    """Fields refused by a check the body's schema cannot make (it needs the stored
    state); the detail has the shape of FastAPI's own 422: ``[{"loc", "msg", "type"}]``."""

    status_code = 422

    def __init__(self, problems: Sequence[tuple[Sequence[str], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems))
        self.fields: list[dict[str, Any]] = [
            {"loc": list(loc), "msg": msg, "type": "value_error"} for loc, msg in problems
        ]


class UnavailableError(ApiError):
    """A dependency (ZooKeeper, Kafka) is unreachable; retry later."""

    status_code = 503
