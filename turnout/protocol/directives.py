"""Read and write a deployment's directive with compare-and-set.

The control plane writes directives through this; so do the agent's tests. Every write
is conditional on the znode version the writer read, and bumps the epoch by exactly one,
so two writers can never both win and epochs never repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from turnout.protocol.models import Directive, utc_now
from turnout.protocol.paths import DeploymentPaths
from turnout.zk import ZkBadVersionError, ZkGateway, ZkNodeExistsError, ZkNoNodeError


class DirectiveConflictError(Exception):
    """Someone else wrote the directive since it was read; re-read and decide again."""


@dataclass(frozen=True)
class VersionedDirective:
    directive: Directive
    #: The znode's version: the token for the next compare-and-set.
    version: int


class DirectiveStore:
    def __init__(self, zk: ZkGateway, paths: DeploymentPaths) -> None:
        self._zk = zk
        self._paths = paths

    def read(self) -> VersionedDirective | None:
        try:
            data, stat = self._zk.get(self._paths.directive)
        except ZkNoNodeError:
            return None
        return VersionedDirective(Directive.from_bytes(data), stat.version)

    def create(self, directive: Directive) -> VersionedDirective:
        """Write the first directive of a deployment (epoch must be 1)."""
        if directive.epoch != 1:
            raise ValueError("the first directive of a deployment has epoch 1")
        try:
            self._zk.create(self._paths.directive, directive.to_bytes(), makepath=True)
        except ZkNodeExistsError as exc:
            raise DirectiveConflictError(f"{self._paths.directive} already exists") from exc
        return VersionedDirective(directive, 0)

    def replace(self, current: VersionedDirective, new: Directive) -> VersionedDirective:
        """Compare-and-set ``new`` over ``current``; ``new.epoch`` must be current + 1."""
        if new.epoch != current.directive.epoch + 1:
            raise ValueError(f"epoch must grow by one: {current.directive.epoch} -> {new.epoch}")
        try:
            stat = self._zk.set(self._paths.directive, new.to_bytes(), version=current.version)
        except (ZkBadVersionError, ZkNoNodeError) as exc:
            raise DirectiveConflictError(
                f"{self._paths.directive} changed since version {current.version}"
            ) from exc
        return VersionedDirective(new, stat.version)

    def update(self, change: Callable[[Directive], Directive]) -> VersionedDirective:
        """Read, apply ``change`` (which must not touch the epoch) and write with CAS once.

        Raises DirectiveConflictError if another writer got in between; the caller decides
        whether to retry (the control plane answers 409 for user-facing conflicts).
        """
        current = self.read()
        if current is None:
            raise ZkNoNodeError(f"{self._paths.directive} does not exist")
        changed = change(current.directive)
        bumped = {"epoch": current.directive.epoch + 1, "written_at": utc_now()}
        # Re-validate: ``change`` may have produced an inconsistent directive.
        new = Directive.model_validate({**changed.model_dump(), **bumped})
        return self.replace(current, new)
