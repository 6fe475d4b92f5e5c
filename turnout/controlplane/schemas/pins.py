"""Manual assignment bodies: the pins, and the preview of the moves they cause."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from turnout.controlplane.schemas.common import check_pins
from turnout.protocol import AbsentPinPolicy


class PinsRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pins": {"payments/3": "billing-green-1"}, "absent_pin_policy": "leave_unowned"}
            ]
        }
    )

    pins: dict[str, str] = Field(max_length=10_000)
    absent_pin_policy: AbsentPinPolicy = AbsentPinPolicy.LEAVE_UNOWNED

    @field_validator("pins")
    @classmethod
    def _valid_pins(cls, value: dict[str, str]) -> dict[str, str]:
        return check_pins(value)


class MovePublic(BaseModel):
    partition: str
    from_instance: str | None
    to_instance: str | None


class PinsPreview(BaseModel):
    moves: list[MovePublic]
    unowned: list[str]
