"""ZooKeeper offsets: each commit is a transaction that checks ownership.

``offsets/<group>/<topic>/<partition>`` holds a ``ZkOffset``. A commit is the multi

    check(owners/<g>/<t>/<p>, version = the owner node's version as we last wrote it)
    set(offsets/<g>/<t>/<p>, ..., version = the offset node's version as we last wrote it)

and claiming a partition rewrites the offset node (``claimed_by``) with a compare-and-set
first. So a stale owner cannot commit: its session's owner node is gone (the check
fails), and even a stale process that somehow still sent a request would hit the offset
node's bumped version (the set fails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores.base import Claim, StaleCommitError, StoredOffset, metadata_for
from turnout.protocol import CommitMetadata, DeploymentPaths, ZkOffset
from turnout.protocol.partitions import PartitionId
from turnout.zk import (
    CheckOp,
    SetOp,
    ZkBadVersionError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkTransactionError,
    ZkUnavailableError,
)


class ZkOffsetStore:
    def __init__(self, zk: ZkGateway, paths: DeploymentPaths) -> None:
        self._zk = zk
        self._paths = paths
        self._versions: dict[PartitionId, int] = {}
        #: The epoch each held claim was made at: the node's ``epoch`` is that one or a
        #: later one the claim was re-stamped to (a commit writes the claim's epoch).
        self._claim_epochs: dict[PartitionId, int] = {}

    def _path(self, claim: Claim) -> str:
        return self._paths.offset(claim.group, claim.tp[0], claim.tp[1])

    def on_claim(self, claims: Sequence[Claim]) -> dict[PartitionId, StoredOffset | None]:
        for claim in claims:
            self._claim_epochs[claim.tp] = claim.epoch
        return {claim.tp: self._claim_one(claim) for claim in claims}

    def _claim_one(self, claim: Claim) -> StoredOffset | None:
        path = self._path(claim)
        while True:
            try:
                data, stat = self._zk.get(path)
            except ZkNoNodeError:
                fresh = ZkOffset(claimed_by=claim.instance, epoch=claim.epoch)
                try:
                    self._zk.create(path, fresh.to_bytes(), makepath=True)
                except ZkNodeExistsError:
                    continue  # someone created it first: read theirs
                self._versions[claim.tp] = 0
                return None
            current = ZkOffset.from_bytes(data)
            stamped = current.model_copy(
                update={"claimed_by": claim.instance, "epoch": claim.epoch}
            )
            try:
                new = self._zk.set(path, stamped.to_bytes(), version=stat.version)
            except ZkBadVersionError:
                continue
            self._versions[claim.tp] = new.version
            if current.offset is None:
                return None
            return StoredOffset(current.offset, CommitMetadata.decode(current.metadata))

    def commit(
        self, points: Mapping[PartitionId, tuple[Claim, CommitPoint]]
    ) -> dict[PartitionId, Exception]:
        failed: dict[PartitionId, Exception] = {}
        for tp, (claim, point) in points.items():
            try:
                self._commit_one(tp, claim, point)
            except Exception as exc:
                failed[tp] = exc
        return failed

    def _resync(self, tp: PartitionId, claim: Claim) -> int:
        """After a commit with an unknown outcome: the offset node's version is ours to
        CAS on only if nobody claimed the partition since: ``claimed_by`` is still us and
        ``epoch`` one this claim wrote, from the claim's own to the one it was re-stamped
        to since (the node keeps the epoch of the last write that landed, so after a
        re-stamp it can be older than the claim's)."""
        try:
            data, stat = self._zk.get(self._path(claim))
        except ZkNoNodeError as exc:
            raise StaleCommitError(f"{tp} was never claimed through this store") from exc
        current = ZkOffset.from_bytes(data)
        claimed_at = self._claim_epochs.get(tp, claim.epoch)
        if current.claimed_by != claim.instance or not (claimed_at <= current.epoch <= claim.epoch):
            raise StaleCommitError(
                f"{tp} was claimed by {current.claimed_by} at epoch {current.epoch} since"
            )
        self._versions[tp] = stat.version
        return stat.version

    def _commit_one(self, tp: PartitionId, claim: Claim, point: CommitPoint) -> None:
        version = self._versions.get(tp)
        if version is None:
            version = self._resync(tp, claim)
        record = ZkOffset(
            offset=point.next_offset,
            metadata=metadata_for(claim, point).encode(),
            claimed_by=claim.instance,
            epoch=claim.epoch,
        )
        try:
            self._zk.transaction(
                [
                    CheckOp(claim.owner_path, claim.owner_version),
                    SetOp(self._path(claim), record.to_bytes(), version=version),
                ]
            )
        except ZkTransactionError as exc:
            self._versions.pop(tp, None)
            raise StaleCommitError(f"{tp}: {exc}") from exc
        except ZkUnavailableError:
            self._versions.pop(tp, None)  # it may have been applied: resync before retrying
            raise
        self._versions[tp] = version + 1

    def forget(self, tp: PartitionId) -> None:
        self._versions.pop(tp, None)
        self._claim_epochs.pop(tp, None)
