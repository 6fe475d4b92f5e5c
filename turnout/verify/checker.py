"""The history checker: a pure function from logs to a verdict (docs/verification.md).

It assumes one consumer group per history (``processed`` events do not name a group), and
that each process handles a partition's records one at a time, as the agent's sequential
dispatcher does; gaps and rewinds are judged in each process's start order.

Definitions used throughout:
- A *record* is a position (topic, partition, offset); its *copies* are its ``processed``
  events, ordered by ``start_ns``. The first copy is the original, the rest duplicates.
- An *owner* is a process: (instance, pid). A restarted instance is a new owner.
- A *tenure* is one owner's hold on one partition: from a ``claimed`` event to the next
  ``released`` (or the next claim, or forever). For owners that log no ``claimed`` event at
  all, each partition is one tenure, and ownership itself is not checked.
- An offset *exists* if it was acknowledged or processed by anyone.

Cost: one sort of the processed events plus linear passes with dict lookups; gap checks
look only at the offsets a jump skipped over (binary search on a sorted offset list).

Why this module is long: every anomaly check reads the same indexes built in one pass
over the history; split apart, each would rebuild them or pass them all around.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from turnout.protocol.partitions import PartitionId
from turnout.verify.events import (
    Claimed,
    Committed,
    Event,
    Fenced,
    Processed,
    Produced,
    Released,
)
from turnout.verify.report import MAX_EXAMPLES, Anomaly, CheckReport, Duplicates

#: A tenure with no ``released`` event lasts past the end of the history.
_OPEN: Final = sys.maxsize

Owner = tuple[str, int]
OwnerTP = tuple[str, int, str, int]


@dataclass
class _Tenures:
    """One owner's tenures of one partition, in claim order."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    start_offsets: list[int] = field(default_factory=list)

    def at(self, mono_ns: int) -> int:
        """Index of the latest tenure claimed at or before ``mono_ns``; -1 if none."""
        return bisect_right(self.starts, mono_ns) - 1

    def covers(self, start_ns: int, end_ns: int) -> bool:
        index = self.at(start_ns)
        return index >= 0 and end_ns <= self.ends[index]


def _owner_tp(instance: str, pid: int, topic: str, partition: int) -> OwnerTP:
    return (instance, pid, topic, partition)


def _build_tenures(claims: list[Claimed], releases: list[Released]) -> dict[OwnerTP, _Tenures]:
    marks: list[tuple[int, int, Claimed | Released]] = [(c.mono_ns, 0, c) for c in claims]
    marks += [(r.mono_ns, 1, r) for r in releases]
    marks.sort(key=lambda mark: (mark[0], mark[1]))
    tenures: defaultdict[OwnerTP, _Tenures] = defaultdict(_Tenures)
    for mono_ns, _, mark in marks:
        held = tenures[_owner_tp(mark.instance, mark.pid, mark.topic, mark.partition)]
        if isinstance(mark, Claimed):
            if held.ends and held.ends[-1] == _OPEN:
                held.ends[-1] = mono_ns  # claimed again without a release: a new tenure
            held.starts.append(mono_ns)
            held.ends.append(_OPEN)
            held.start_offsets.append(mark.start_offset)
        elif held.ends and held.ends[-1] == _OPEN:
            held.ends[-1] = mono_ns
    return dict(tenures)


def _copy(event: Processed) -> dict[str, Any]:
    return {
        "instance": event.instance,
        "pid": event.pid,
        "epoch": event.epoch,
        "offset": event.offset,
        "start_ns": event.start_ns,
        "end_ns": event.end_ns,
    }


def check(
    produced: Iterable[Produced], events: Iterable[Event], *, planned_only: bool = False
) -> CheckReport:
    """Check a history: acknowledged records against what the agents logged.

    ``planned_only`` says the run had only planned operations (joins, clean leaves, switches,
    pin moves): then any duplicate fails it. Otherwise duplicates are reported and only
    those of already committed records fail it. See ``CheckReport`` for each anomaly.
    """
    value_mismatches = Anomaly()
    acked: defaultdict[PartitionId, dict[int, str]] = defaultdict(dict)
    for record in produced:
        values = acked[(record.topic, record.partition)]
        first_value = values.setdefault(record.offset, record.value)
        if first_value != record.value:
            value_mismatches.add(
                {
                    "kind": "inconsistent_offsets",
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "values": [first_value, record.value],
                }
            )

    processed: list[Processed] = []
    claims: list[Claimed] = []
    releases: list[Released] = []
    commits: list[Committed] = []
    fenced: Counter[str] = Counter()
    for event in events:
        if isinstance(event, Processed):
            processed.append(event)
        elif isinstance(event, Claimed):
            claims.append(event)
        elif isinstance(event, Released):
            releases.append(event)
        elif isinstance(event, Committed):
            commits.append(event)
        elif isinstance(event, Fenced):
            fenced[event.instance] += 1
    processed.sort(key=lambda event: event.start_ns)
    commits.sort(key=lambda event: event.mono_ns)

    # First copy of every record (dicts keep start order), later copies, earliest ends.
    first: defaultdict[PartitionId, dict[int, Processed]] = defaultdict(dict)
    later: defaultdict[tuple[PartitionId, int], list[Processed]] = defaultdict(list)
    earliest_end: defaultdict[PartitionId, dict[int, int]] = defaultdict(dict)
    for event in processed:
        tp = (event.topic, event.partition)
        expected = acked.get(tp, {}).get(event.offset)
        if expected is not None and expected != event.value:
            value_mismatches.add(
                {
                    "kind": "processed_value",
                    **_copy(event),
                    "topic": event.topic,
                    "partition": event.partition,
                    "value": event.value,
                    "acked_value": expected,
                }
            )
        originals = first[tp]
        if event.offset in originals:
            later[(tp, event.offset)].append(event)
        else:
            originals[event.offset] = event
        ends = earliest_end[tp]
        ends[event.offset] = min(ends.get(event.offset, _OPEN), event.end_ns)

    lost, lost_unseen = _lost(acked, first)
    tenures = _build_tenures(claims, releases)
    claiming: set[Owner] = {(c.instance, c.pid) for c in claims}
    known = {
        tp: sorted(acked.get(tp, {}).keys() | first.get(tp, {}).keys())
        for tp in acked.keys() | first.keys()
    }
    gaps, rewinds, unowned = _tenure_checks(processed, tenures, claiming, known, earliest_end)
    unowned_commits, regressions = _commit_checks(commits, tenures, claiming)
    return CheckReport(
        planned_only=planned_only,
        acked=sum(len(values) for values in acked.values()),
        processed_events=len(processed),
        processed_records=sum(len(originals) for originals in first.values()),
        lost=lost,
        lost_unseen=lost_unseen,
        duplicates=_duplicates(first, later, commits),
        overlaps=_overlaps(processed),
        gaps=gaps,
        rewinds=rewinds,
        order_violations=_order_violations(first),
        unowned_processing=unowned,
        unowned_commits=unowned_commits,
        commit_regressions=regressions,
        value_mismatches=value_mismatches,
        fenced=dict(sorted(fenced.items())),
    )


def _lost(
    acked: dict[PartitionId, dict[int, str]], first: dict[PartitionId, dict[int, Processed]]
) -> tuple[Anomaly, int]:
    lost = Anomaly()
    unseen = 0
    for tp in sorted(acked):
        originals = first.get(tp, {})
        highest = max(originals, default=-1)
        for offset in sorted(acked[tp]):
            if offset not in originals:
                lost.add(
                    {
                        "topic": tp[0],
                        "partition": tp[1],
                        "offset": offset,
                        "value": acked[tp][offset],
                        "unseen": offset > highest,
                    }
                )
                unseen += offset > highest
    return lost, unseen


def _duplicates(
    first: dict[PartitionId, dict[int, Processed]],
    later: dict[tuple[PartitionId, int], list[Processed]],
    commits: list[Committed],
) -> Duplicates:
    # Per partition: commit times and the highest offset committed up to each of them.
    commit_times: defaultdict[PartitionId, list[int]] = defaultdict(list)
    commit_highs: defaultdict[PartitionId, list[int]] = defaultdict(list)
    for commit in commits:
        tp = (commit.topic, commit.partition)
        highs = commit_highs[tp]
        commit_times[tp].append(commit.mono_ns)
        highs.append(max(commit.offset, highs[-1]) if highs else commit.offset)

    result = Duplicates()
    histogram: Counter[int] = Counter()
    for originals in first.values():
        histogram[1] += len(originals)
    for (tp, offset), copies in sorted(later.items()):
        histogram[1] -= 1
        histogram[len(copies) + 1] += 1
        result.records += 1
        result.extra_copies += len(copies)
        result.max_copies = max(result.max_copies, len(copies) + 1)
        times = commit_times.get(tp, [])
        for copy in copies:
            index = bisect_left(times, copy.start_ns) - 1
            if index >= 0 and commit_highs[tp][index] > offset:
                result.after_commit += 1
        if len(result.examples) < MAX_EXAMPLES:
            original = first[tp][offset]
            result.examples.append(
                {
                    "topic": tp[0],
                    "partition": tp[1],
                    "offset": offset,
                    "value": original.value,
                    "copies": [_copy(c) for c in (original, *copies)],
                }
            )
    result.copies_histogram = {k: v for k, v in sorted(histogram.items()) if v}
    return result


def _overlaps(processed: list[Processed]) -> Anomaly:
    """Intervals of different owners of one partition that overlap (input in start order)."""
    overlaps = Anomaly()
    # Per partition: per owner, its interval ending last among those seen so far.
    active: defaultdict[PartitionId, dict[Owner, Processed]] = defaultdict(dict)
    for event in processed:
        owners = active[(event.topic, event.partition)]
        me = (event.instance, event.pid)
        for owner, other in list(owners.items()):
            if other.end_ns <= event.start_ns:
                del owners[owner]  # later events start later still: it can overlap nothing more
            elif owner != me:
                overlaps.add(
                    {
                        "topic": event.topic,
                        "partition": event.partition,
                        "first": _copy(other),
                        "second": _copy(event),
                    }
                )
        mine = owners.get(me)
        if mine is None or event.end_ns > mine.end_ns:
            owners[me] = event
    return overlaps


def _skipped(known: list[int], ends: dict[int, int], low: int, high: int, at_ns: int) -> list[int]:
    """Existing offsets strictly between ``low`` and ``high`` nobody had finished by ``at_ns``."""
    lo, hi = bisect_right(known, low), bisect_left(known, high)
    return [offset for offset in known[lo:hi] if ends.get(offset, _OPEN) > at_ns]


def _tenure_checks(
    processed: list[Processed],
    tenures: dict[OwnerTP, _Tenures],
    claiming: set[Owner],
    known: dict[PartitionId, list[int]],
    earliest_end: dict[PartitionId, dict[int, int]],
) -> tuple[Anomaly, Anomaly, Anomaly]:
    gaps, rewinds, unowned = Anomaly(), Anomaly(), Anomaly()
    by_owner_tp: defaultdict[OwnerTP, list[Processed]] = defaultdict(list)
    for event in processed:
        by_owner_tp[_owner_tp(event.instance, event.pid, event.topic, event.partition)].append(
            event
        )
    for key, sequence in by_owner_tp.items():
        instance, pid, topic, partition = key
        tp = (topic, partition)
        held = tenures.get(key)
        checks_ownership = (instance, pid) in claiming
        current: int | None = None
        previous: int | None = None
        where = {"instance": instance, "pid": pid, "topic": topic, "partition": partition}
        for event in sequence:
            tenure = held.at(event.start_ns) if held is not None else -1
            if checks_ownership and (held is None or not held.covers(event.start_ns, event.end_ns)):
                unowned.add({**where, **_copy(event)})
            if tenure != current:
                current = tenure
                start = held.start_offsets[tenure] if held is not None and tenure >= 0 else -1
                previous = start - 1 if start >= 0 else None
            if previous is not None and event.offset <= previous:
                rewinds.add({**where, "previous_offset": previous, "offset": event.offset})
            elif previous is not None and event.offset > previous + 1:
                skipped = _skipped(
                    known[tp], earliest_end[tp], previous, event.offset, event.start_ns
                )
                if skipped:
                    gaps.add(
                        {
                            **where,
                            "after_offset": previous,
                            "next_offset": event.offset,
                            "skipped_count": len(skipped),
                            "skipped": skipped[:MAX_EXAMPLES],
                        }
                    )
            previous = event.offset
    return gaps, rewinds, unowned


def _commit_checks(
    commits: list[Committed], tenures: dict[OwnerTP, _Tenures], claiming: set[Owner]
) -> tuple[Anomaly, Anomaly]:
    unowned, regressions = Anomaly(), Anomaly()
    highest: dict[tuple[str, str, int], Committed] = {}
    for commit in commits:
        where = {
            "instance": commit.instance,
            "pid": commit.pid,
            "group": commit.group,
            "topic": commit.topic,
            "partition": commit.partition,
            "offset": commit.offset,
            "epoch": commit.epoch,
            "mono_ns": commit.mono_ns,
        }
        if (commit.instance, commit.pid) in claiming:
            held = tenures.get(
                _owner_tp(commit.instance, commit.pid, commit.topic, commit.partition)
            )
            if held is None or not held.covers(commit.mono_ns, commit.mono_ns):
                unowned.add(where)
        key = (commit.group, commit.topic, commit.partition)
        best = highest.get(key)
        if best is not None and commit.offset < best.offset:
            regressions.add(
                {**where, "previous_offset": best.offset, "previous_instance": best.instance}
            )
        else:
            highest[key] = commit
    return unowned, regressions


def _order_violations(first: dict[PartitionId, dict[int, Processed]]) -> Anomaly:
    """Records of one key and partition whose first copies ran out of offset order."""
    violations = Anomaly()
    for (topic, partition), originals in sorted(first.items()):
        highest: dict[str, Processed] = {}
        for event in originals.values():  # insertion order is start order
            if event.key is None:
                continue
            ahead = highest.get(event.key)
            if ahead is not None and event.offset < ahead.offset:
                violations.add(
                    {
                        "topic": topic,
                        "partition": partition,
                        "key": event.key,
                        "offset": event.offset,
                        "processed_after_offset": ahead.offset,
                        "record": _copy(event),
                        "earlier": _copy(ahead),
                    }
                )
            else:
                highest[event.key] = event
    return violations
