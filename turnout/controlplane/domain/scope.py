"""Which deployments a token may see and act on: name patterns and team labels.

A scoped token covers a deployment when the deployment's name matches one of its glob
patterns (``*`` any run of characters, ``?`` one character, case-sensitive, as
``fnmatch.fnmatchcase``) or the deployment's team label is one of its teams. An unscoped
token (``None`` where a scope is expected) covers every deployment. Everything a token
does not cover is invisible to it: the API answers 404 as for a deployment that does not
exist, and lists leave it out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from turnout.protocol.paths import validate_name

#: A pattern is a deployment name in which ``*`` and ``?`` may stand for characters.
PATTERN_SYNTAX = re.compile(r"^[A-Za-z0-9._*?-]{1,200}$")
#: Patterns and teams per token: enough for any team, small enough to check per request.
MAX_SCOPE_ENTRIES = 50


def validate_pattern(value: str) -> str:
    if not PATTERN_SYNTAX.fullmatch(value):
        raise ValueError(
            f"deployment pattern {value!r} must be 1-200 characters of letters, digits, "
            "'.', '_', '-', '*' or '?'"
        )
    return value


@dataclass(frozen=True)
class DeploymentScope:
    patterns: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (self.patterns or self.teams):
            raise ValueError("a scope needs at least one deployment pattern or team")
        if len(self.patterns) > MAX_SCOPE_ENTRIES or len(self.teams) > MAX_SCOPE_ENTRIES:
            raise ValueError(f"a scope has at most {MAX_SCOPE_ENTRIES} patterns and teams")
        for pattern in self.patterns:
            validate_pattern(pattern)
        for team in self.teams:
            validate_name("team", team)

    def covers(self, name: str, team: str | None) -> bool:
        return (team is not None and team in self.teams) or any(
            fnmatchcase(name, pattern) for pattern in self.patterns
        )

    def to_json(self) -> dict[str, Any]:
        return {"patterns": list(self.patterns), "teams": list(self.teams)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DeploymentScope | None:
        if data is None:
            return None
        return cls(patterns=tuple(data.get("patterns", ())), teams=tuple(data.get("teams", ())))


def covers(scope: DeploymentScope | None, name: str, team: str | None) -> bool:
    """Whether a token with ``scope`` (None: unscoped) may see deployment ``name``."""
    return scope is None or scope.covers(name, team)


def visible_names(
    scope: DeploymentScope | None, deployments: Iterable[tuple[str, str | None]]
) -> list[str] | None:
    """The names among ``(name, team)`` pairs that ``scope`` covers; None when unscoped
    (every deployment, including ones created after the call)."""
    if scope is None:
        return None
    return [name for name, team in deployments if scope.covers(name, team)]
