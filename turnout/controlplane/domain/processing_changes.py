"""Changing a deployment's processing settings: a partial change merged into the current
settings, checked whole, with the new version and what changed.

A change is a JSON object holding only the fields to change; nested objects merge field
by field (``{"retries": {"max_retries": 5}}`` keeps the other retry settings). The merged
result is checked three ways, every problem reported with its field path:

- a field the settings do not have is refused (on the wire agents ignore unknown fields
  for version skew; a person typing ``"worker"`` wants to hear about it);
- the types, ranges and cross-field rules of :class:`ProcessingSettings`;
- :func:`validate_processing`, so a value no agent of this version knows (an ordering
  mode, say) is refused here rather than by every agent at once.

``version`` is the control plane's: a change never sets it, and the merged settings get
``current.version + 1`` only when some value differs, so re-sending the same settings
bumps nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from turnout.protocol.processing import ProcessingSettings, UnsupportedSettings, validate_processing

#: The field a change may not set: the control plane numbers the versions.
VERSION_FIELD = "version"


@dataclass(frozen=True)
class FieldProblem:
    """One refused field: its path inside the settings (``("retries", "backoff_ms")``)."""

    path: tuple[str, ...]
    message: str


class InvalidProcessingError(ValueError):
    """The change cannot be applied; ``problems`` names every field at fault."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(
            "; ".join(f"{'.'.join(p.path) or 'processing'}: {p.message}" for p in problems)
        )
        self.problems = problems


@dataclass(frozen=True)
class FieldChange:
    """One leaf field whose value a change alters, by dotted path."""

    field: str
    old: Any
    new: Any


def _unknown_fields(
    change: Mapping[str, Any], model: type[BaseModel], prefix: tuple[str, ...]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for key, value in change.items():
        path = (*prefix, key)
        field = model.model_fields.get(key)
        if field is None:
            problems.append(FieldProblem(path, "not a processing setting"))
            continue
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            if not isinstance(value, Mapping):
                problems.append(FieldProblem(path, "must be an object"))
            else:
                problems.extend(_unknown_fields(value, nested, path))
        elif get_origin(nested) is dict:
            # A map of named objects (``outputs``): each entry is checked as its model.
            entries = get_args(nested)[1]
            if not isinstance(value, Mapping):
                problems.append(FieldProblem(path, "must be an object"))
                continue
            if isinstance(entries, type) and issubclass(entries, BaseModel):
                for name, entry in value.items():
                    if isinstance(entry, Mapping):
                        problems.extend(_unknown_fields(entry, entries, (*path, name)))
    return problems


def _merged(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _unsupported_field(exc: UnsupportedSettings) -> tuple[str, ...]:
    # validate_processing's message starts with the dotted field it refuses.
    return tuple(str(exc).split(" ", 1)[0].split("."))


def apply_change(current: ProcessingSettings, change: Mapping[str, Any]) -> ProcessingSettings:
    """``current`` with ``change`` merged in, checked, and versioned (see the module doc).

    Raises :class:`InvalidProcessingError` naming every field at fault."""
    if VERSION_FIELD in change:
        raise InvalidProcessingError(
            [FieldProblem((VERSION_FIELD,), "is set by the control plane on every change")]
        )
    problems = _unknown_fields(change, ProcessingSettings, ())
    if problems:
        raise InvalidProcessingError(problems)
    try:
        merged = ProcessingSettings.model_validate(_merged(current.model_dump(), change))
    except ValidationError as exc:
        raise InvalidProcessingError(
            [
                FieldProblem(tuple(str(part) for part in error["loc"]), error["msg"])
                for error in exc.errors()
            ]
        ) from None
    try:
        validate_processing(merged)
    except UnsupportedSettings as exc:
        raise InvalidProcessingError([FieldProblem(_unsupported_field(exc), str(exc))]) from None
    if not changes(current, merged):
        return current
    return merged.model_copy(update={VERSION_FIELD: current.version + 1})


def initial_settings(change: Mapping[str, Any]) -> ProcessingSettings:
    """A new deployment's settings: the defaults with ``change`` merged in, version 1."""
    first = ProcessingSettings()
    return apply_change(first, change).model_copy(update={VERSION_FIELD: first.version})


def leaf_values(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of ``data`` by dotted path (``{"retries.max_retries": 3, ...}``)."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.update(leaf_values(value, f"{path}."))
        else:
            found[path] = value
    return found


def changes(old: ProcessingSettings, new: ProcessingSettings) -> list[FieldChange]:
    """The leaf fields whose values differ (the version aside), in field order."""
    before = leaf_values(old.model_dump(mode="json", exclude={VERSION_FIELD}))
    after = leaf_values(new.model_dump(mode="json", exclude={VERSION_FIELD}))
    return [
        FieldChange(field, before.get(field), value)
        for field, value in after.items()
        if before.get(field) != value
    ]
