"""The checker's verdict: counts and a few examples of every anomaly, JSON-serialisable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

#: Examples kept per anomaly: enough to debug from, small enough to print in a test failure.
MAX_EXAMPLES: Final = 5

#: Anomalies that fail a history whatever the scenario (duplicates are judged separately).
ALWAYS_FATAL: Final = (
    "lost",
    "overlaps",
    "gaps",
    "rewinds",
    "order_violations",
    "unowned_processing",
    "unowned_commits",
    "commit_regressions",
    "value_mismatches",
)


@dataclass
class Anomaly:
    """How many times one kind of anomaly happened, with the first ``MAX_EXAMPLES`` of them."""

    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, example: dict[str, Any]) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


@dataclass
class Duplicates:
    """Records processed more than once."""

    #: Processings beyond the first, over all records.
    extra_copies: int = 0
    #: Records processed more than once.
    records: int = 0
    max_copies: int = 0
    #: Extra copies that started when the record's offset was already committed (some commit
    #: of its partition had gone past it): never explained by a crash's uncommitted window.
    after_commit: int = 0
    #: copies -> number of records processed that many times (Jepsen's consume-counts).
    copies_histogram: dict[int, int] = field(default_factory=dict)
    #: Per record: topic, partition, offset, value and every copy (instance, pid, epoch, start).
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CheckReport:
    """The result of ``check``; ``ok`` is the verdict, ``failures`` says why not."""

    planned_only: bool
    #: Acknowledged records (distinct positions) in the producer logs.
    acked: int
    #: ``processed`` events, and distinct records among them.
    processed_events: int
    processed_records: int
    #: Acknowledged records never processed (Jepsen lost-write and unseen together).
    lost: Anomaly
    #: Of ``lost``: records past the last processed offset of their partition (Jepsen's
    #: unseen: the consumers may simply not have got there yet).
    lost_unseen: int
    duplicates: Duplicates
    #: Processing intervals of two processes on one partition overlapping in monotonic time.
    overlaps: Anomaly
    #: Within one tenure, processing jumped over existing offsets nobody had processed yet.
    gaps: Anomaly
    #: Within one tenure, an offset not above the previous one (or below the claim's start).
    rewinds: Anomaly
    #: Same key and partition processed out of offset order (first copies only).
    order_violations: Anomaly
    #: Records processed outside the process's own claim..release of the partition.
    unowned_processing: Anomaly
    #: Commits logged outside the process's own claim..release of the partition.
    unowned_commits: Anomaly
    #: A group's committed offset of a partition went down.
    commit_regressions: Anomaly
    #: A processed value differs from the acknowledged value at that offset, or two
    #: acknowledgements name one offset with different values.
    value_mismatches: Anomaly
    #: ``fenced`` events per instance (information, not a failure).
    fenced: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        """Names of the checks that failed; empty when the history is correct."""
        failed = [name for name in ALWAYS_FATAL if getattr(self, name).count]
        if self.duplicates.after_commit:
            failed.append("duplicates_after_commit")
        if self.planned_only and self.duplicates.extra_copies:
            failed.append("duplicates")
        return failed

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (``json.dumps`` works on the result)."""
        anomalies = {name: _anomaly_dict(getattr(self, name)) for name in ALWAYS_FATAL}
        return {
            "ok": self.ok,
            "failures": self.failures,
            "planned_only": self.planned_only,
            "acked": self.acked,
            "processed_events": self.processed_events,
            "processed_records": self.processed_records,
            "lost_unseen": self.lost_unseen,
            **anomalies,
            "duplicates": {
                "extra_copies": self.duplicates.extra_copies,
                "records": self.duplicates.records,
                "max_copies": self.duplicates.max_copies,
                "after_commit": self.duplicates.after_commit,
                "copies_histogram": {
                    str(k): v for k, v in self.duplicates.copies_histogram.items()
                },
                "examples": self.duplicates.examples,
            },
            "fenced": dict(self.fenced),
        }


def _anomaly_dict(anomaly: Anomaly) -> dict[str, Any]:
    return {"count": anomaly.count, "examples": anomaly.examples}
