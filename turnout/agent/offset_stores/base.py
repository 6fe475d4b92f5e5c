"""The offset store seam.

Both stores keep Kafka's convention: the stored value is the next offset to consume.
Metadata is ``CommitMetadata`` (epoch, instance, completed offsets past the first gap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from turnout.agent.dispatch import CommitPoint
from turnout.protocol import CommitMetadata
from turnout.protocol.partitions import PartitionId


class StaleCommitError(Exception):
    """The store refused a commit because this agent no longer owns the partition."""


@dataclass(frozen=True)
class Claim:
    """Proof of ownership a commit is made under."""

    group: str
    tp: PartitionId
    owner_path: str
    #: The owner node's version as this agent last wrote it.
    owner_version: int
    epoch: int
    instance: str
    #: The epoch this ownership began at (None: at ``epoch``). A kept partition's owner
    #: node is re-stamped with each new epoch; its ownership goes on.
    since_epoch: int | None = None

    @property
    def began_at(self) -> int:
        return self.epoch if self.since_epoch is None else self.since_epoch


@dataclass(frozen=True)
class StoredOffset:
    """What a store holds for a partition: the next offset to consume, and metadata."""

    next_offset: int
    metadata: CommitMetadata | None


class OffsetStore(Protocol):
    def on_claim(self, claims: Sequence[Claim]) -> dict[PartitionId, StoredOffset | None]:
        """Read the committed offsets of freshly claimed partitions (None: none stored).
        A store that can fence earlier owners does so here."""

    def commit(
        self, points: Mapping[PartitionId, tuple[Claim, CommitPoint]]
    ) -> dict[PartitionId, Exception]:
        """Store every point (atomically per partition); return the partitions that
        failed and why: StaleCommitError when the partition is no longer ours (do not
        retry), anything else when the outcome is unknown (retry)."""

    def forget(self, tp: PartitionId) -> None:
        """The partition was released or lost."""


def metadata_for(claim: Claim, point: CommitPoint) -> CommitMetadata:
    return CommitMetadata.model_validate(
        {"epoch": claim.epoch, "instance": claim.instance, "done": point.done_beyond}
    )
