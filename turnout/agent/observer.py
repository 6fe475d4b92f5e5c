"""Ownership events an embedding application (or a test's event log) may observe.

Calls come from the agent thread, synchronously, at the points that make a history
checkable: ``claimed`` after the owner node exists and before the first record is
fetched; ``released`` after the final commit and before the owner node is deleted;
``committed`` after a commit succeeded; ``fenced`` when the agent stops processing and
committing everything. Keep them fast: they run inside the rebalance.
``turnout.verify.InstanceEventLog`` implements this protocol.
"""

from __future__ import annotations

from typing import Protocol


class AgentObserver(Protocol):
    def claimed(
        self, group: str, topic: str, partition: int, epoch: int, start_offset: int
    ) -> None: ...

    def released(
        self, group: str, topic: str, partition: int, epoch: int, committed_offset: int | None
    ) -> None: ...

    def committed(
        self, group: str, topic: str, partition: int, offset: int, epoch: int
    ) -> None: ...

    def fenced(self, reason: str) -> None: ...
