"""What the agent knows about one partition whose owner node it holds."""

from __future__ import annotations

from dataclasses import dataclass

from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores import Claim
from turnout.protocol import OwnedPartition


@dataclass
class HeldPartition:
    claim: Claim
    start_offset: int
    #: Next offset expected from Kafka (records below it are duplicates of a re-fetch).
    next_fetch: int
    #: The stored commit (None: nothing stored yet).
    committed: int | None
    #: The dispatcher's newest commit point (None: nothing completed since the claim).
    latest: CommitPoint | None = None
    #: The dispatcher closed it: a release is under way.
    closed: bool = False
    #: Records were dropped while it was inactive: seek to ``next_fetch`` on resume.
    needs_seek: bool = False
    #: Why the partition cannot be consumed (reset policy ``error``), if so.
    blocked: str | None = None
    claimed_at: float = 0.0

    def row(self, group: str) -> OwnedPartition:
        """Its line in ``InstanceStatus.owned``."""
        done = self.latest.next_offset if self.latest else self.start_offset
        return OwnedPartition(
            group=group,
            topic=self.claim.tp[0],
            partition=self.claim.tp[1],
            committed_offset=self.committed,
            processed=max(0, done - self.start_offset),
        )
