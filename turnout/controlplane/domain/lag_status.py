"""Burrow-style consumer status over a window of lag samples: a pure function.

Burrow judges a group by its committed offsets over a sliding window rather than by one
lag figure, because lag alone cannot tell a slow consumer from a stuck one. Per partition,
over the samples in the window (oldest first):

- ``STOP``: the committed offset never moved and nothing owns the partition now
  (no commits in the window and no owner).
- ``STALL``: the committed offset never moved while lag stayed above zero, though an
  owner exists (a consumer that is there but makes no progress).
- ``WARN``: offsets move, but lag grew across the window (never fell from one sample to
  the next and ended higher than it started).
- ``OK``: anything else, including lag 0 with no new records (nothing to commit).

The deployment's status is its worst partition's. Fewer than two samples say nothing
about movement, so they give ``OK`` unless the only sample shows an unowned partition
with lag (``STOP``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum


class LagStatus(IntEnum):
    """Ordered by severity, so ``max`` picks the worst."""

    OK = 0
    WARN = 1
    STALL = 2
    STOP = 3


@dataclass(frozen=True)
class PartitionSample:
    lag: int
    committed: int | None
    owned: bool


#: One sample: partition key (``topic/partition``) → what was seen.
DeploymentSample = Mapping[str, PartitionSample]


def partition_status(history: Sequence[PartitionSample]) -> LagStatus:
    """Status of one partition from its samples in the window, oldest first."""
    if not history:
        return LagStatus.OK
    last = history[-1]
    if len(history) < 2:
        return LagStatus.STOP if (not last.owned and last.lag > 0) else LagStatus.OK
    committed = [sample.committed for sample in history]
    moved = len(set(committed)) > 1
    if not moved:
        if not last.owned and last.lag > 0:
            return LagStatus.STOP
        if last.lag > 0 and all(sample.lag > 0 for sample in history):
            return LagStatus.STALL
        return LagStatus.OK
    lags = [sample.lag for sample in history]
    growing = all(b >= a for a, b in itertools.pairwise(lags)) and lags[-1] > lags[0]
    return LagStatus.WARN if growing else LagStatus.OK


def deployment_status(samples: Sequence[DeploymentSample]) -> LagStatus:
    """Worst partition status over ``samples`` (oldest first); OK with no samples."""
    keys = sorted({key for sample in samples for key in sample})
    worst = LagStatus.OK
    for key in keys:
        history = [sample[key] for sample in samples if key in sample]
        worst = max(worst, partition_status(history))
    return worst
