"""Processing settings in the CLI: a change as it is typed (a JSON file and ``name=value``
assignments, merged into the ``processing`` object of a deployment PATCH), and the
settings or the change as the lines it prints.

Dotted names nest (``retries.max_retries=5``); a value is JSON where it parses as JSON
(``32``, ``true``, ``null``, ``{"enabled": true}``) and a string otherwise (``key``), so
the common cases need no quoting. Assignments are applied after the file, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from turnout.controlplane.domain.processing_changes import VERSION_FIELD, leaf_values


class SettingChangeError(ValueError):
    """An assignment or file that does not make a change object; the message says why."""


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _assign(change: dict[str, Any], assignment: str) -> None:
    name, sep, text = assignment.partition("=")
    if not sep or not name:
        raise SettingChangeError(
            f"{assignment!r} must look like name=value, e.g. retries.max_retries=5"
        )
    *parents, leaf = name.split(".")
    node = change
    for parent in parents:
        child = node.setdefault(parent, {})
        if not isinstance(child, dict):
            raise SettingChangeError(f"{name!r}: {parent} is not an object")
        node = child
    node[leaf] = _parsed(text)


def setting_change(assignments: list[str], file: Path | None) -> dict[str, Any]:
    """The ``processing`` change object of ``file`` (a JSON object) and ``assignments``."""
    change: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingChangeError(f"cannot read settings from {file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingChangeError(f"{file} must hold a JSON object of processing settings")
        change.update(loaded)
    for assignment in assignments:
        _assign(change, assignment)
    return change


def _shown(value: Any) -> str:
    """A value as it would be typed in ``name=value``."""
    return value if isinstance(value, str) else json.dumps(value)


def describe_settings(
    deployment: str, before: dict[str, Any], after: dict[str, Any] | None
) -> tuple[str, list[str], list[list[str]]]:
    """A title, a table header and rows: the settings ``before`` (``after`` None), or
    what changed between them."""
    old = leaf_values(before)
    if after is None:
        rows = [[name, _shown(value)] for name, value in old.items() if name != VERSION_FIELD]
        title = f"processing settings of {deployment}, version {before[VERSION_FIELD]}"
        return title, ["SETTING", "VALUE"], rows
    changed = [
        [name, _shown(old.get(name)), _shown(value)]
        for name, value in leaf_values(after).items()
        if name != VERSION_FIELD and old.get(name) != value
    ]
    if not changed:
        title = f"processing settings of {deployment} unchanged (version {after[VERSION_FIELD]})"
        return title, [], []
    title = (
        f"processing settings of {deployment}: "
        f"version {before[VERSION_FIELD]} → {after[VERSION_FIELD]}"
    )
    return title, ["SETTING", "OLD", "NEW"], changed
