"""A small builder for hand-made histories: a fake clock and terse event constructors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from turnout.verify import Claimed, Committed, Event, Processed, Produced, Released

GROUP = "g"
TOPIC = "t"
#: Default length of a processing interval in the fake monotonic clock.
STEP_NS = 10


def value_of(partition: int, offset: int) -> str:
    return f"v-{partition}-{offset}"


class Header(TypedDict):
    instance: str
    colour: str
    pid: int
    ts: float
    mono_ns: int


@dataclass
class History:
    produced: list[Produced] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    clock: int = 1_000
    pids: dict[str, int] = field(default_factory=dict)
    next_pid: int = 100

    def tick(self) -> int:
        self.clock += STEP_NS
        return self.clock

    def pid(self, instance: str) -> int:
        if instance not in self.pids:
            self.restart(instance)
        return self.pids[instance]

    def restart(self, instance: str) -> None:
        """The instance's process died; a new process (new pid) takes its name."""
        self.pids[instance] = self.next_pid
        self.next_pid += 1

    def _header(self, instance: str, mono_ns: int) -> Header:
        return {
            "instance": instance,
            "colour": "blue",
            "pid": self.pid(instance),
            "ts": mono_ns / 1e9,
            "mono_ns": mono_ns,
        }

    def produce(self, partition: int, count: int, key: str | None = None) -> None:
        start = sum(1 for p in self.produced if p.partition == partition)
        for offset in range(start, start + count):
            self.produced.append(
                Produced(
                    topic=TOPIC,
                    partition=partition,
                    offset=offset,
                    key=key,
                    value=value_of(partition, offset),
                )
            )

    def claim(self, instance: str, partition: int, start_offset: int, epoch: int = 1) -> None:
        self.events.append(
            Claimed(
                **self._header(instance, self.tick()),
                group=GROUP,
                topic=TOPIC,
                partition=partition,
                epoch=epoch,
                start_offset=start_offset,
            )
        )

    def process(
        self,
        instance: str,
        partition: int,
        *offsets: int,
        key: str | None = None,
        start: int | None = None,
        epoch: int = 1,
    ) -> None:
        for offset in offsets:
            begin = self.tick() if start is None else start
            end = begin + STEP_NS - 1
            self.clock = max(self.clock, end)
            self.events.append(
                Processed(
                    **self._header(instance, end),
                    topic=TOPIC,
                    partition=partition,
                    offset=offset,
                    key=key,
                    value=value_of(partition, offset),
                    epoch=epoch,
                    start_ns=begin,
                    end_ns=end,
                )
            )

    def commit(self, instance: str, partition: int, offset: int, epoch: int = 1) -> None:
        self.events.append(
            Committed(
                **self._header(instance, self.tick()),
                group=GROUP,
                topic=TOPIC,
                partition=partition,
                offset=offset,
                epoch=epoch,
            )
        )

    def release(self, instance: str, partition: int, committed: int, epoch: int = 1) -> None:
        self.commit(instance, partition, committed, epoch)
        self.events.append(
            Released(
                **self._header(instance, self.tick()),
                group=GROUP,
                topic=TOPIC,
                partition=partition,
                epoch=epoch,
                committed_offset=committed,
            )
        )
