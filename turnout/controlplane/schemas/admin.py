"""Audit entries, API tokens and the caller's identity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from turnout.controlplane.domain.scope import MAX_SCOPE_ENTRIES, DeploymentScope
from turnout.controlplane.security import ApiRole
from turnout.controlplane.settings import MAX_TOKEN_ROTATION_GRACE_S, MAX_TOKEN_TTL_S
from turnout.protocol.paths import validate_name


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    deployment: str | None
    detail: dict[str, Any]


class TokenScope(BaseModel):
    """The deployments a token may see and act on: any whose name matches a pattern
    (``*``, ``?``) or whose team is listed."""

    patterns: list[str] = Field(default_factory=list, max_length=MAX_SCOPE_ENTRIES)
    teams: list[str] = Field(default_factory=list, max_length=MAX_SCOPE_ENTRIES)

    @model_validator(mode="after")
    def _valid_scope(self) -> TokenScope:
        self.to_scope()  # raises ValueError, which pydantic reports as a 422
        return self

    def to_scope(self) -> DeploymentScope:
        return DeploymentScope(patterns=tuple(self.patterns), teams=tuple(self.teams))

    @classmethod
    def of(cls, scope: DeploymentScope | None) -> TokenScope | None:
        if scope is None:
            return None
        return cls(patterns=list(scope.patterns), teams=list(scope.teams))


ExpiresIn = Field(
    default=None,
    ge=60,
    le=MAX_TOKEN_TTL_S,
    description="Lifetime in seconds; unset: the server's default (token_ttl_s)",
)


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "ci", "role": "operator"},
                {"name": "payments-ci", "role": "operator", "scope": {"teams": ["payments"]}},
            ]
        }
    )

    name: str
    role: ApiRole
    expires_in_s: int | None = ExpiresIn
    scope: TokenScope | None = Field(
        default=None, description="The deployments it may see; unset: all of them"
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_name("token", value)


class TokenRotate(BaseModel):
    expires_in_s: int | None = ExpiresIn
    grace_s: int | None = Field(
        default=None,
        ge=0,
        le=MAX_TOKEN_ROTATION_GRACE_S,
        description="How long the replaced secret keeps working; unset: the server's "
        "default (token_rotation_grace_s)",
    )


class TokenCreated(BaseModel):
    name: str
    role: ApiRole
    token: str = Field(description="Shown once; only its SHA-256 hash is stored")
    expires_at: datetime | None
    scope: TokenScope | None
    previous_valid_until: datetime | None = Field(
        default=None, description="After a rotation: until when the replaced secret works"
    )


class TokenPublic(BaseModel):
    name: str
    role: ApiRole
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    previous_valid_until: datetime | None
    scope: TokenScope | None


class WhoAmI(BaseModel):
    name: str
    role: ApiRole
    scope: TokenScope | None
