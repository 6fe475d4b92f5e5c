"""Audit entries, API tokens and the caller's identity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from turnout.controlplane.security import ApiRole
from turnout.protocol.paths import validate_name


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    deployment: str | None
    detail: dict[str, Any]


class TokenCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "ci", "role": "operator"}]})

    name: str
    role: ApiRole

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_name("token", value)


class TokenCreated(BaseModel):
    name: str
    role: ApiRole
    token: str = Field(description="Shown once; only its SHA-256 hash is stored")


class TokenPublic(BaseModel):
    name: str
    role: ApiRole
    created_at: datetime


class WhoAmI(BaseModel):
    name: str
    role: ApiRole
