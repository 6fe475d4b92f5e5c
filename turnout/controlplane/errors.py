"""Errors the services raise; the API maps each to its status code and ``{"detail": ...}``."""

from __future__ import annotations


class ApiError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(ApiError):
    status_code = 404


class ConflictError(ApiError):
    status_code = 409


class PreconditionFailedError(ApiError):
    status_code = 412


class InvalidError(ApiError):
    """Well-formed but not valid against the current state (e.g. a pin to no partition)."""

    status_code = 422


class UnavailableError(ApiError):
    """A dependency (ZooKeeper, Kafka) is unreachable; retry later."""

    status_code = 503
