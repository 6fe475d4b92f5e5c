"""Bodies every resource shares: errors, pages, health, and the name and pin checks."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from turnout.protocol import PartitionRef
from turnout.protocol.paths import validate_name

T = TypeVar("T")


class ErrorOut(BaseModel):
    detail: str = Field(examples=["a switch of billing is already in flight"])


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Total number of items matching, across all pages")


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def check_pins(value: dict[str, str]) -> dict[str, str]:
    """``value`` if every key is ``topic/partition`` and every instance name is valid."""
    for key, instance in value.items():
        PartitionRef.parse(key)
        validate_name("instance", instance)
    return value
