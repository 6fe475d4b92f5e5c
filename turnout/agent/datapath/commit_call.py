"""One commit call of several partitions' points, retried with backoff (tenacity).

Pure with respect to the agent: it talks to the offset store and reports what happened;
the commit path applies the outcome (bookkeeping, dropping partitions that are no longer ours,
surfacing failures). A failure is never dropped: the caller keeps the points pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

from turnout.agent.dispatch import CommitPoint
from turnout.agent.offset_stores import Claim, OffsetStore, StaleCommitError
from turnout.protocol.partitions import PartitionId

#: Attempts of one commit call within an agent step (then the next step tries again):
#: three tries ride out a group-coordinator move without stalling the loop for long.
COMMIT_ATTEMPTS = 3
#: Backoff between attempts: 50 ms doubling, at most this.
COMMIT_BACKOFF_MAX_S = 0.5


class LeaseExpired(Exception):
    """The lease ran out between attempts: nothing more may be committed."""


@dataclass
class CommitOutcome:
    committed: dict[PartitionId, CommitPoint] = field(default_factory=dict)
    #: The store refused: the partition is no longer ours (do not retry).
    stale: dict[PartitionId, Exception] = field(default_factory=dict)
    #: Still failing after every attempt (outcome unknown or refused for now).
    failed: dict[PartitionId, Exception] = field(default_factory=dict)


def commit_points(
    store: OffsetStore,
    points: Mapping[PartitionId, tuple[Claim, CommitPoint]],
    *,
    lease_valid: Callable[[], bool],
    observe_latency: Callable[[float], None],
    sleep: Callable[[float], None] = time.sleep,
) -> CommitOutcome:
    outcome = CommitOutcome()
    pending = dict(points)

    def attempt() -> dict[PartitionId, Exception]:
        nonlocal pending
        if not lease_valid():
            return dict.fromkeys(pending, LeaseExpired("lease expired; commit refused"))
        started = time.monotonic()
        failed = store.commit(pending)
        observe_latency(time.monotonic() - started)
        if not lease_valid():
            # The lease ran out while the commit was on its way (the process was frozen or
            # cut off): whether it landed before a successor took over cannot be told, so
            # it is not reported as a success.
            return dict.fromkeys(
                pending, LeaseExpired("lease expired during the commit; outcome unknown")
            )
        for tp, (_, point) in pending.items():
            if tp not in failed:
                outcome.committed[tp] = point
        for tp, exc in failed.items():
            if isinstance(exc, StaleCommitError):
                outcome.stale[tp] = exc
        retryable = {tp: e for tp, e in failed.items() if not isinstance(e, StaleCommitError)}
        pending = {tp: pending[tp] for tp in retryable}
        return retryable

    retrying = Retrying(
        stop=stop_after_attempt(COMMIT_ATTEMPTS),
        wait=wait_exponential(multiplier=0.05, max=COMMIT_BACKOFF_MAX_S),
        retry=retry_if_result(bool),
        sleep=sleep,
        # Out of attempts: hand back the last failures instead of raising.
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else {},
    )
    outcome.failed = retrying(attempt)
    return outcome
