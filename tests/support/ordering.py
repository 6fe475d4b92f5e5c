"""The ordering property the work manager promises, checked over a handler's event log."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, TypeVar


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


Item = TypeVar("Item", bound=_Ordered)


def assert_sequential(
    events: Sequence[tuple[Item, object, str]], lane_of: Mapping[Item, Hashable]
) -> None:
    """Within a lane (a partition, or a key of one): one attempt at a time, records started
    in offset order, and a record never starts before the one before it ended successfully.

    ``events`` are (record, key, "start" | "end" | "fail") in the order handlers produced
    them; records are offsets, or anything ordered like them within a lane."""
    running: dict[Hashable, Item | None] = {}
    finished: dict[Hashable, Item] = {}
    for item, _key, kind in events:
        lane = lane_of[item]
        if kind == "start":
            assert running.get(lane) is None, f"lane {lane}: {item} overlaps {running[lane]}"
            previous = finished.get(lane)
            assert previous is None or previous < item, (
                f"lane {lane}: {item} started after {previous} ended"
            )
            earlier = [
                other
                for other, lane_other in lane_of.items()
                if lane_other == lane and (previous is None or previous < other) and other < item
            ]
            assert not earlier, f"lane {lane}: {item} started before {earlier} finished"
            running[lane] = item
        else:
            assert running.get(lane) == item
            running[lane] = None
            if kind == "end":
                finished[lane] = item
