"""Offset reset bodies: the target, and the plan (executed or dry run)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from turnout.protocol import PartitionRef


class OffsetResetRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"binding": "live", "to": "earliest", "dry_run": True}]}
    )

    binding: Literal["live", "preview"] = "live"
    to: Literal["earliest", "latest", "timestamp", "explicit"]
    timestamp_ms: int | None = Field(default=None, ge=0)
    offsets: dict[str, int] | None = Field(default=None, max_length=10_000)
    dry_run: bool = True

    @model_validator(mode="after")
    def _target_given(self) -> OffsetResetRequest:
        if self.to == "timestamp" and self.timestamp_ms is None:
            raise ValueError("to=timestamp needs timestamp_ms")
        if self.to == "explicit":
            if not self.offsets:
                raise ValueError("to=explicit needs offsets")
            for key, offset in self.offsets.items():
                PartitionRef.parse(key)
                if offset < 0:
                    raise ValueError(f"offset of {key} must be >= 0")
        return self


class OffsetPlanItem(BaseModel):
    partition: str
    current: int | None
    target: int


class OffsetResetResult(BaseModel):
    executed: bool
    partitions: list[OffsetPlanItem]
