"""Where a switch's gap goes: ``python -m bench.switch_gaps DIR`` over ``bench.switch --keep DIR``.

For every switch and partition: the old owner's last record (end), its release, the new
owner's claim and its first record (start), all in ms from the switch's API call. Prints
one JSON object: per-step percentiles over all partitions and the worst handoffs.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from turnout.verify import Claimed, Processed, Released, read_events

WORST_SHOWN = 8


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


def analyse(directory: Path) -> dict[str, Any]:
    log_dir = directory / "turnout"
    marks = [
        (int(start), colour)
        for start, colour in (
            line.split() for line in (log_dir / "switch-starts.txt").read_text().splitlines()
        )
    ]
    events = read_events(*log_dir.glob("events-*.jsonl"))
    handoffs: list[dict[str, Any]] = []
    for index, (start, colour) in enumerate(marks):
        end = marks[index + 1][0] if index + 1 < len(marks) else None

        def within(mono_ns: int, start: int = start, end: int | None = end) -> bool:
            return mono_ns >= start and (end is None or mono_ns < end)

        last_old: dict[int, int] = {}
        first_new: dict[int, int] = {}
        released: dict[int, int] = {}
        claimed: dict[int, int] = {}
        for event in events:
            if isinstance(event, Processed):
                if event.colour != colour and event.end_ns <= (end or event.end_ns + 1):
                    if event.start_ns < (first_new.get(event.partition) or 1 << 62):
                        last_old[event.partition] = max(
                            last_old.get(event.partition, 0), event.end_ns
                        )
                elif event.colour == colour and within(event.start_ns):
                    first_new.setdefault(event.partition, event.start_ns)
            elif isinstance(event, Released) and event.colour != colour and within(event.mono_ns):
                released.setdefault(event.partition, event.mono_ns)
            elif isinstance(event, Claimed) and event.colour == colour and within(event.mono_ns):
                claimed.setdefault(event.partition, event.mono_ns)
        for partition, first in first_new.items():

            def ms(ns: int | None, start: int = start) -> float | None:
                return None if ns is None else round((ns - start) / 1e6, 1)

            old_end = last_old.get(partition)
            handoffs.append(
                {
                    "switch": index,
                    "partition": partition,
                    "old_last_end": ms(old_end),
                    "released": ms(released.get(partition)),
                    "claimed": ms(claimed.get(partition)),
                    "new_first": ms(first),
                    "gap": ms(first - max(start, old_end or start), 0),
                }
            )
    steps: dict[str, list[float]] = defaultdict(list)
    for h in handoffs:
        for name in ("old_last_end", "released", "claimed", "new_first", "gap"):
            if h[name] is not None:
                steps[name].append(h[name])
        if h["released"] is not None and h["claimed"] is not None:
            steps["release_to_claim"].append(round(h["claimed"] - h["released"], 1))
        if h["claimed"] is not None:
            steps["claim_to_first"].append(round(h["new_first"] - h["claimed"], 1))
    per_switch: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for h in handoffs:
        per_switch[h["switch"]].append(h)
    return {
        "handoffs": len(handoffs),
        "steps_ms": {
            name: {"p50": _pct(v, 50), "p90": _pct(v, 90), "max": _pct(v, 100)}
            for name, v in steps.items()
        },
        "worst": sorted(handoffs, key=lambda h: -h["gap"])[:WORST_SHOWN],
        "per_switch": [
            {"switch": index, **_worst_of(per_switch[index])} for index in sorted(per_switch)
        ],
    }


def _worst_of(handoffs: list[dict[str, Any]]) -> dict[str, float | None]:
    """One switch's slowest step of each kind (ms from its API call, or between steps)."""

    def most(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    def between(h: dict[str, Any], first: str, then: str) -> float | None:
        if h[first] is None or h[then] is None:
            return None
        return round(float(h[then]) - float(h[first]), 1)

    return {
        "gap_max": most([h["gap"] for h in handoffs]),
        "released_max": most([h["released"] for h in handoffs]),
        "claimed_max": most([h["claimed"] for h in handoffs]),
        "new_first_max": most([h["new_first"] for h in handoffs]),
        "release_to_claim_max": most([between(h, "released", "claimed") for h in handoffs]),
        "claim_to_first_max": most([between(h, "claimed", "new_first") for h in handoffs]),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.switch_gaps DIR (from bench.switch --keep DIR)")
        return 2
    print(json.dumps(analyse(Path(args[0])), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
