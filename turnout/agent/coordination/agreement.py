"""Agreeing on one owner map per binding: compute, then publish with compare-and-set.

Every agent of the colour that owns a binding computes ``compute_assignment`` from its
*view*: (directive epoch, sorted live members of the colour, the binding's partitions).
Views of different agents can differ for a moment (one has seen a member join, another
not yet), and the sticky strategy depends on history, so computing alone is not enough
for everyone to act on the same map. The agents therefore publish the map at
``assignments/<group>`` with compare-and-set:

1. Read the published record. If its ``inputs`` digest equals my view's: adopt it.
2. If its view is *newer* than mine (higher epoch, then higher ``members_version`` —
   the ``instances/`` children version — then more partitions): my view is stale; the
   caller re-reads ZooKeeper and Kafka and tries again.
3. Otherwise compute (sticky gets the record's owners as ``previous``) and write with
   CAS on the version read; a lost CAS goes back to 1.

Views are totally ordered by (epoch, members_version, partition total), so the newest
view's record wins and every agent that holds that view adopts the same owners.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from turnout.protocol import Colour, Directive, PartitionRef, PublishedAssignment, Strategy
from turnout.protocol.assignment import AssignmentResult, compute_assignment
from turnout.protocol.partitions import PartitionId
from turnout.zk import WatchCallback, ZkBadVersionError, ZkGateway, ZkNodeExistsError, ZkNoNodeError

#: Compare-and-set rounds per attempt; more than a couple means views still differ and
#: the caller should re-read the world rather than spin here.
MAX_CAS_ROUNDS = 4


@dataclass(frozen=True)
class View:
    directive: Directive
    colour: Colour
    group: str
    members: tuple[str, ...]
    members_version: int
    partitions: dict[str, int]
    #: Whether the directive's pins apply (they name partitions of the live binding).
    use_pins: bool

    def order_key(self) -> tuple[int, int, int]:
        return (self.directive.epoch, self.members_version, sum(self.partitions.values()))

    def all_partitions(self) -> list[PartitionId]:
        return [(t, p) for t, n in sorted(self.partitions.items()) for p in range(n)]

    def pins(self) -> dict[PartitionId, str]:
        if not self.use_pins:
            return {}
        out: dict[PartitionId, str] = {}
        for key, instance in self.directive.pins.items():
            ref = PartitionRef.parse(key)
            out[(ref.topic, ref.partition)] = instance
        return out

    def digest(self) -> str:
        strategy = self.directive.strategy
        body = {
            "epoch": self.directive.epoch,
            "colour": str(self.colour),
            "members": list(self.members),
            "partitions": dict(sorted(self.partitions.items())),
            "strategy": str(strategy),
            "pins": sorted(f"{t}/{p}={i}" for (t, p), i in self.pins().items())
            if strategy is Strategy.MANUAL
            else [],
            "absent": str(self.directive.absent_pin_policy),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


class StaleView(Exception):
    """The published assignment was computed from a newer view than ours."""


def _key(tp: PartitionId) -> str:
    return f"{tp[0]}/{tp[1]}"


def _tp(key: str) -> PartitionId:
    ref = PartitionRef.parse(key)
    return (ref.topic, ref.partition)


def owners_of(record: PublishedAssignment) -> dict[PartitionId, str]:
    return {_tp(k): v for k, v in record.owners.items()}


def agree(
    zk: ZkGateway,
    path: str,
    view: View,
    me: str,
    watch: WatchCallback | None = None,
) -> PublishedAssignment | None:
    """The owner map everyone with ``view`` acts on; None if no agreement was reached
    within :data:`MAX_CAS_ROUNDS` (try again later). Raises StaleView."""
    digest = view.digest()
    for _ in range(MAX_CAS_ROUNDS):
        try:
            data, stat = zk.get(path, watch=watch)
            record: PublishedAssignment | None = PublishedAssignment.from_bytes(data)
            version = stat.version
        except ZkNoNodeError:
            record, version = None, -1
            zk.exists(path, watch=watch)
        if record is not None and record.inputs == digest:
            return record
        if record is not None:
            theirs = (record.epoch, record.members_version, sum(record.partitions.values()))
            if theirs > view.order_key():
                raise StaleView(f"published assignment has view {theirs}, mine {view.order_key()}")
        previous = (
            owners_of(record) if record is not None and record.colour == view.colour else None
        )
        result = _compute(view, previous)
        new = PublishedAssignment(
            epoch=view.directive.epoch,
            colour=view.colour,
            strategy=view.directive.strategy,
            inputs=digest,
            members=view.members,
            members_version=view.members_version,
            partitions=view.partitions,
            owners={_key(tp): owner for tp, owner in sorted(result.owners.items())},
            unowned=tuple(_key(tp) for tp in result.unowned),
            absent_pins={_key(tp): inst for tp, inst in result.absent_pins},
            written_by=me,
        )
        try:
            if version < 0:
                zk.create(path, new.to_bytes(), makepath=True)
            else:
                zk.set(path, new.to_bytes(), version=version)
        except (ZkBadVersionError, ZkNodeExistsError, ZkNoNodeError):
            continue
        return new
    return None


def members_of_colour(
    registrations: Sequence[tuple[str, Colour]], colour: Colour
) -> tuple[str, ...]:
    return tuple(sorted({name for name, c in registrations if c is colour}))


def _compute(view: View, previous: dict[PartitionId, str] | None) -> AssignmentResult:
    return compute_assignment(
        view.directive.strategy,
        list(view.members),
        view.all_partitions(),
        previous=previous,
        pins=view.pins(),
        absent_pin_policy=view.directive.absent_pin_policy,
    )


def foreseen_partitions(
    directive: Directive,
    colour: Colour,
    me: str,
    registrations: Sequence[tuple[str, Colour]],
    partitions: dict[str, int],
) -> list[PartitionId]:
    """The live binding's partitions a standby of ``colour`` expects to be given when its
    colour goes live: its share of the map ``agree`` would publish for the colour's
    members now (no previous map of the colour: the live one is the other colour's).
    A guess: members or counts may change before the switch."""
    view = View(
        directive=directive,
        colour=colour,
        group=directive.live.group,
        members=members_of_colour(registrations, colour),
        members_version=0,
        partitions={t: partitions.get(t, 0) for t in directive.live.resolved(partitions).topics},
        use_pins=True,
    )
    if me not in view.members:
        return []
    return sorted(tp for tp, owner in _compute(view, None).owners.items() if owner == me)
