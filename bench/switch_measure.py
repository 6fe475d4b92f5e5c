"""The switch benchmark's measurements: pure functions over the history, and the tail
reader that follows the consumers' event logs while a scenario runs.

Every time is ``CLOCK_MONOTONIC`` in nanoseconds, which every process on the machine
shares: the producer's acknowledgements, the consumers' events and the orchestration's
switch starts are stamped in different processes and compared directly.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from turnout.verify import CheckReport, Processed

#: (partition, offset) -> (value, produce call, broker acknowledgement), monotonic ns.
Acked = dict[tuple[int, int], tuple[str, int, int]]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def first_copies(events: list[Processed]) -> dict[tuple[int, int], Processed]:
    first: dict[tuple[int, int], Processed] = {}
    for event in sorted(events, key=lambda e: e.start_ns):
        first.setdefault((event.partition, event.offset), event)
    return first


def gaps_ms_per_switch(
    acked: Acked,
    events: list[Processed],
    switch_starts: list[int],
    *,
    from_send: bool = False,
) -> list[float]:
    """Per switch, the longest wait of a ready record in its window, in ms.

    A record is ready from the broker's acknowledgement of it (``from_send``: from the
    produce call), from the start of the latest switch before it was processed, or from
    when the previous record of its partition finished, whichever is latest; its wait
    ends when its first copy starts. A wait counts in the window of the latest switch
    that started before the record was processed, so queueing from before the first
    switch (a native group's first join, say) is charged to none.
    """
    first = first_copies(events)
    starts = sorted(switch_starts)
    worst = [0] * len(starts)
    by_partition: defaultdict[int, list[int]] = defaultdict(list)
    for partition, offset in first:
        by_partition[partition].append(offset)
    for partition, offsets in by_partition.items():
        previous_end: int | None = None
        for offset in sorted(offsets):
            copy = first[(partition, offset)]
            window = bisect.bisect_right(starts, copy.start_ns)
            times = acked.get((partition, offset))
            produced_at = copy.start_ns if times is None else (times[1] if from_send else times[2])
            if window:
                ready = max(produced_at, starts[window - 1], previous_end or 0)
                worst[window - 1] = max(worst[window - 1], copy.start_ns - ready)
            previous_end = copy.end_ns
    return [w / 1e6 for w in worst]


def gap_ms_max(
    acked: Acked,
    events: list[Processed],
    switch_starts: list[int],
    *,
    from_send: bool = False,
) -> float:
    """The longest wait of a ready record from the first switch on (``gaps_ms_per_switch``)."""
    return max(gaps_ms_per_switch(acked, events, switch_starts, from_send=from_send), default=0.0)


def switch_done_ns(
    events: list[Processed], new: set[str], since_ns: int, partitions: int
) -> int | None:
    """When every partition had a record processed by an instance in ``new`` after
    ``since_ns``; None if some partition has not yet."""
    earliest: dict[int, int] = {}
    for event in events:
        if event.instance in new and event.start_ns >= since_ns:
            current = earliest.get(event.partition)
            if current is None or event.start_ns < current:
                earliest[event.partition] = event.start_ns
    if len(earliest) < partitions:
        return None
    return max(earliest.values())


def spread(values: Sequence[float]) -> dict[str, float | int]:
    """How many, and the p50, p99 and max of ``values``."""
    return {
        "samples": len(values),
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1),
    }


#: How many of the longest per-switch gaps the result names, with their switch's number.
WORST_SWITCHES_SHOWN = 5


def worst_switches(gaps: Sequence[float]) -> list[list[float]]:
    """The longest per-switch gaps as ``[switch number, gap ms]``, longest first, the first
    switch numbered 1: whether the maximum is one outlier, several, or the run's first
    switches (services and agents still warming up) shows there."""
    ranked = sorted(enumerate(gaps, start=1), key=lambda numbered: -numbered[1])
    return [[number, round(gap, 1)] for number, gap in ranked[:WORST_SWITCHES_SHOWN]]


def scenario_result(
    switch_ms: list[float],
    acked: Acked,
    events: list[Processed],
    report: CheckReport,
    switch_starts: list[int],
) -> dict[str, Any]:
    gaps = gaps_ms_per_switch(acked, events, switch_starts)
    return {
        "switches": len(switch_ms),
        "switch_ms_p50": round(percentile(switch_ms, 50), 1),
        "switch_ms_p99": round(percentile(switch_ms, 99), 1),
        "gap_ms_max": round(max(gaps, default=0.0), 1),
        "gap_ms_per_switch": spread(gaps),
        "gap_ms_worst_switches": worst_switches(gaps),
        "gap_ms_max_from_send": round(gap_ms_max(acked, events, switch_starts, from_send=True), 1),
        "duplicates": report.duplicates.extra_copies,
        "lost": report.lost.count,
        "acked": report.acked,
        "checker_ok": report.ok,
        "checker_failures": report.failures,
    }


# ---- the event logs, followed while a scenario runs -------------------------------------


class EventTail:
    """Incremental reader of the ``processed`` lines of a log directory: polling must not
    re-parse whole logs (that would steal the CPU the consumers are measured on)."""

    def __init__(self, log_dir: Path) -> None:
        self._dir = log_dir
        self._offsets: dict[Path, int] = {}
        self.events: list[Processed] = []
        self.seen: set[tuple[int, int]] = set()

    def poll(self) -> list[Processed]:
        for path in sorted(self._dir.glob("events-*.jsonl")):
            start = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(start)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = start + len(complete)
            for line in complete.splitlines():
                if b'"event":"processed"' in line:
                    data = json.loads(line)
                    self.events.append(
                        Processed(**{k: data[k] for k in _PROCESSED_FIELDS if k in data})
                    )
                    self.seen.add((data["partition"], data["offset"]))
        return self.events

    def drained(self, acked: Acked) -> bool:
        """Every acknowledged record has been processed by someone."""
        self.poll()
        return all(key in self.seen for key in acked)


_PROCESSED_FIELDS = (
    "instance", "colour", "pid", "ts", "mono_ns", "topic", "partition", "offset", "key",
    "value", "epoch", "start_ns", "end_ns",
)  # fmt: skip
