"""ZooKeeper offsets: each commit is a transaction that checks ownership.

``offsets/<group>/<topic>/<partition>`` holds a ``ZkOffset``. A commit is the multi

    check(owners/<g>/<t>/<p>, version = the owner node's version as we last wrote it)
    set(offsets/<g>/<t>/<p>, ..., version = the offset node's version as we last wrote it)

and claiming a partition rewrites the offset node (``claimed_by``) with a compare-and-set
first. So a stale owner cannot commit: its session's owner node is gone (the check
fails), and even a stale process that somehow still sent a request would hit the offset
node's bumped version (the set fails).

A batch (a claim's partitions, a commit's) costs one round trip: all in one multi when
nothing changed under us, as in a handover; else each partition's request on its own,
pipelined, so that one partition no longer ours fails alone.
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
    TxnOp,
    ZkBadVersionError,
    ZkError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkTransactionError,
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
        """Stamp every claimed partition's offset node with the claim (compare-and-set)
        and return what it held. One pipelined read of all the nodes; then, when every
        node is there (as after a handover), all the stamps in one multi, else (or if
        the multi is refused) the creates and stamps pipelined, each on its own; a node
        that changed since the read (another claim's stamp, a create racing ours) is
        done again alone."""
        for claim in claims:
            self._claim_epochs[claim.tp] = claim.epoch
        paths = {claim.tp: self._path(claim) for claim in claims}
        found = self._zk.get_many(list(paths.values()))
        held: dict[PartitionId, ZkOffset] = {}
        writes: list[tuple[str, bytes, int]] = []  # (path, data, version; -1: create)
        for claim in claims:
            node = found[paths[claim.tp]]
            if node is None:
                fresh = ZkOffset(claimed_by=claim.instance, epoch=claim.epoch)
                writes.append((paths[claim.tp], fresh.to_bytes(), -1))
            else:
                held[claim.tp] = current = ZkOffset.from_bytes(node[0])
                writes.append(
                    (paths[claim.tp], self._stamp(current, claim).to_bytes(), node[1].version)
                )
        versions = self._write_claims(writes)
        out: dict[PartitionId, StoredOffset | None] = {}
        for claim in claims:
            version = versions[paths[claim.tp]]
            if isinstance(version, ZkNodeExistsError | ZkBadVersionError | ZkNoNodeError):
                out[claim.tp] = self._claim_one(claim)  # changed since the read: again
            elif isinstance(version, ZkError):
                raise version
            else:
                self._versions[claim.tp] = version
                before = held.get(claim.tp)
                out[claim.tp] = None if before is None else self._stored(before)
        return out

    def _write_claims(self, writes: list[tuple[str, bytes, int]]) -> dict[str, int | ZkError]:
        """Per path the offset node's version after the write, or what refused it."""
        if len(writes) > 1 and all(version >= 0 for _, _, version in writes):
            try:
                self._zk.transaction([SetOp(path, data, version=v) for path, data, v in writes])
            except ZkTransactionError:
                pass  # some node changed since the read: each on its own below
            else:
                return {path: version + 1 for path, _, version in writes}
        created = self._zk.create_many(
            [(path, data) for path, data, version in writes if version < 0], makepath=True
        )
        stamped = self._zk.set_many([write for write in writes if write[2] >= 0])
        versions: dict[str, int | ZkError] = {}
        for path, error in created.items():
            versions[path] = 0 if error is None else error
        for path, stat in stamped.items():
            versions[path] = stat if isinstance(stat, ZkError) else stat.version
        return versions

    @staticmethod
    def _stamp(current: ZkOffset, claim: Claim) -> ZkOffset:
        return current.model_copy(update={"claimed_by": claim.instance, "epoch": claim.epoch})

    @staticmethod
    def _stored(current: ZkOffset) -> StoredOffset | None:
        if current.offset is None:
            return None
        return StoredOffset(current.offset, CommitMetadata.decode(current.metadata))

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
            try:
                new = self._zk.set(
                    path, self._stamp(current, claim).to_bytes(), version=stat.version
                )
            except ZkBadVersionError:
                continue
            self._versions[claim.tp] = new.version
            return self._stored(current)

    def commit(
        self, points: Mapping[PartitionId, tuple[Claim, CommitPoint]]
    ) -> dict[PartitionId, Exception]:
        """Every partition's commit transaction (owner node checked, offset node set at
        the version we last wrote): one multi for all, or each on its own if that is
        refused (``ZkGateway.transactions_together``)."""
        failed: dict[PartitionId, Exception] = {}
        sent: list[tuple[PartitionId, int]] = []
        batches: list[list[TxnOp]] = []
        for tp, (claim, point) in points.items():
            version = self._versions.get(tp)
            if version is None:
                try:
                    version = self._resync(tp, claim)
                except Exception as exc:
                    failed[tp] = exc
                    continue
            record = ZkOffset(
                offset=point.next_offset,
                metadata=metadata_for(claim, point).encode(),
                claimed_by=claim.instance,
                epoch=claim.epoch,
            )
            sent.append((tp, version))
            batches.append(
                [
                    CheckOp(claim.owner_path, claim.owner_version),
                    SetOp(self._path(claim), record.to_bytes(), version=version),
                ]
            )
        for (tp, version), outcome in zip(
            sent, self._zk.transactions_together(batches), strict=True
        ):
            if outcome is None:
                self._versions[tp] = version + 1
                continue
            # Refused, or an unknown outcome (it may have been applied): the version is
            # read again before the next commit of the partition.
            self._versions.pop(tp, None)
            if isinstance(outcome, ZkTransactionError):
                failed[tp] = StaleCommitError(f"{tp}: {outcome}")
            else:
                failed[tp] = outcome
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

    def forget(self, tp: PartitionId) -> None:
        self._versions.pop(tp, None)
        self._claim_epochs.pop(tp, None)
