"""The exactly-once runner's bookkeeping, over a stand-in transactional producer: what is
initialised before what, which offsets each transaction commits with which outputs, and
what a failure, a fencing or a closed gate does. (The real transactions, fencing across
processes, are in tests/integration/agent/test_exactly_once_processors.py.)"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import pytest
from confluent_kafka import KafkaError, TopicPartition
from prometheus_client import CollectorRegistry

from turnout.agent import Output, Outputs, Record
from turnout.agent.dispatch import KafkaGroup
from turnout.agent.processors.exactly_once import (
    MAX_TAKEOVERS,
    ExactlyOnceRunner,
    PartitionNotOwned,
    TooManyTransactionalProducers,
    TransactionFenced,
)
from turnout.agent.processors.routing import OutputRoutes
from turnout.agent.processors.transaction_metrics import TransactionMetrics
from turnout.agent.processors.transactions import TransactionBounds
from turnout.agent.work import RecordFailed
from turnout.producer import DeliveryCountdown, ProducerConfig, ProducerFencedError
from turnout.protocol import OutputTopics, Role
from turnout.protocol.partitions import PartitionId

TOPIC = "in"


def fenced() -> ProducerFencedError:
    return ProducerFencedError(KafkaError(KafkaError._FENCED, "fenced by a newer instance"))


@contextmanager
def fails_at(done: int, kind: type[BaseException]) -> Iterator[None]:
    """The run fails at its ``done``-th record (those before it committed) with ``kind``."""
    with pytest.raises(RecordFailed) as caught:
        yield
    assert caught.value.done == done, caught.value
    assert isinstance(caught.value.cause, kind), caught.value


ROUTES = OutputRoutes({"enriched": OutputTopics(live="out", preview="out.pv")})


@dataclass(frozen=True)
class Landed:
    """A delivery report's message: where a record landed."""

    topic_: str
    partition_: int
    offset_: int

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_


class Observer:
    """A ``WriteObserver`` noting each call: the input offsets and the spans."""

    def __init__(self) -> None:
        self.told: list[tuple[list[int], dict[tuple[str, int], tuple[int, int]]]] = []

    def written(
        self, records: Sequence[Record], spans: Mapping[tuple[str, int], tuple[int, int]]
    ) -> None:
        self.told.append(([record.offset for record in records], dict(spans)))

    def flush(self, timeout_s: float) -> None:
        del timeout_s


class StandInProducer:
    """Records every call, in order; ``fail_commit`` makes the next commit raise it."""

    def __init__(self, txid: str, journal: list[tuple[str, ...]]) -> None:
        self.txid = txid
        self.journal = journal
        self.fail_commit: BaseException | None = None
        self.closed = False
        #: Reported records' reports, delivered by the commit (which flushes them).
        self.unreported: list[tuple[Any, Landed]] = []
        self.next_offset = 0

    def connect(self, topics: Sequence[str], timeout_s: float) -> None:
        self.journal.append(("connect", self.txid, *topics))

    def init_transactions(self) -> None:
        self.journal.append(("init", self.txid))

    def begin_transaction(self) -> None:
        self.journal.append(("begin",))

    def produce(
        self,
        topic: str,
        value: object,
        key: object,
        partition: int = -1,
        timestamp_ms: int = 0,
        headers: object = None,
    ) -> None:
        self.journal.append(("produce", topic, cast(bytes, value).decode()))

    def reporting_to(self, countdown: DeliveryCountdown) -> Any:
        def report(error: KafkaError | None, message: object) -> None:
            assert error is None
            countdown.acknowledged()

        return report

    def produce_writes(
        self,
        writes: Sequence[tuple[str, object, object, int, int, object]],
        report: Any = None,
    ) -> None:
        for topic, value, key, partition, timestamp_ms, headers in writes:
            self.produce(topic, value, key, partition, timestamp_ms, headers)
            if report is not None:
                landed = Landed(topic, partition if partition >= 0 else 0, self.next_offset)
                self.unreported.append((report, landed))
                self.next_offset += 1

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], metadata: object) -> None:
        self.journal.append(("offsets", *(f"{tp.partition}@{tp.offset}" for tp in offsets)))

    def commit_transaction(self) -> None:
        if self.fail_commit is not None:
            error, self.fail_commit = self.fail_commit, None
            raise error
        for report, message in self.unreported:
            report(None, message)
        self.unreported.clear()
        self.journal.append(("commit",))

    def abort_transaction(self) -> None:
        self.unreported.clear()
        self.journal.append(("abort",))

    def close(self, timeout_s: float | None = None) -> None:
        self.closed = True


class Ticking:
    """A clock that moves a second each time it is read: a shut gate times out at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Rig:
    def __init__(self, committed: int | None = None, per_batch: bool = False, **kw: Any) -> None:
        self.journal: list[tuple[str, ...]] = []
        self.producers: list[StandInProducer] = []
        self.gate_open = True
        #: Partitions given up: their gate is shut.
        self.released: set[int] = set()
        self.committed = committed
        #: The committed offset's read shuts the gate (ownership lost mid-takeover).
        self.close_gate_on_committed_read = False
        #: The epoch each partition's ownership began at, as the agent says (None: unknown).
        self.ownership_began: dict[int, int] = {}
        self.fail_on: set[int] = set()
        self.registry = CollectorRegistry()

        def enrich(record: Record, out: Outputs) -> Output:
            if record.offset in self.fail_on:
                raise ValueError(f"cannot process {record.offset}")
            return Output("enriched", record.value)

        def enrich_batch(records: Sequence[Record], out: Outputs) -> list[Output]:
            self.journal.append(("call", *(str(record.offset) for record in records)))
            return [Output("enriched", record.value, key=record.key) for record in records]

        def new_producer(txid: str) -> Any:
            self.producers.append(StandInProducer(txid, self.journal))
            return self.producers[-1]

        self.runner = ExactlyOnceRunner(
            cast(Any, enrich_batch if per_batch else enrich),
            per_batch=per_batch,
            routes=ROUTES,
            role=lambda: Role.LIVE,
            gate=lambda tp: self.gate_open and tp[1] not in self.released,
            group=KafkaGroup(
                deployment="dep",
                group=lambda: "g",
                metadata=lambda: "group-metadata",
                committed=self._committed,
                lease_s=9.0,
                offsets_in_kafka=True,
                ownership_began=lambda tp: self.ownership_began.get(tp[1]),
            ),
            producer_config=ProducerConfig(),
            transaction_timeout_ms=5_000,
            registry=self.registry,
            new_producer=new_producer,
            **kw,
        )

    def _committed(self, tp: PartitionId) -> int | None:
        self.journal.append(("committed?",))
        if self.close_gate_on_committed_read:
            self.gate_open = False
        return self.committed

    def run(self, offsets: Sequence[int], epoch: int = 1, partition: int = 0) -> None:
        self.runner.handle_batch(
            [Record(TOPIC, partition, o, b"k", f"v{o}".encode(), (), 0, epoch) for o in offsets]
        )


def test_the_id_is_taken_over_and_the_offset_reread_before_anything_is_written() -> None:
    rig = Rig(committed=2)
    rig.run([0, 1, 2, 3])  # 0 and 1 were committed by the predecessor: skipped
    assert rig.journal == [
        # Not prepared by a standby: connected first, then initialised.
        ("connect", "turnout.3:dep.1:g.2:in.0", "out"),
        ("init", "turnout.3:dep.1:g.2:in.0"),
        ("committed?",),
        ("begin",),
        ("produce", "out", "v2"),
        ("produce", "out", "v3"),
        ("offsets", "0@4"),
        ("commit",),
    ]
    rig.journal.clear()
    rig.run([4])  # the same ownership: no new init
    assert rig.journal == [("begin",), ("produce", "out", "v4"), ("offsets", "0@5"), ("commit",)]


def test_a_run_past_the_record_bound_commits_in_several_transactions() -> None:
    rig = Rig(bounds=TransactionBounds(max_records=2))
    rig.run([0, 1, 2])
    offsets = [entry for entry in rig.journal if entry[0] in ("offsets", "commit")]
    assert offsets == [("offsets", "0@2"), ("commit",), ("offsets", "0@3"), ("commit",)]


def test_a_batch_processor_is_called_once_per_transaction_within_the_record_bound() -> None:
    rig = Rig(per_batch=True, bounds=TransactionBounds(max_records=2))
    rig.run([0, 1, 2])
    calls = [entry for entry in rig.journal if entry[0] in ("call", "offsets")]
    assert calls == [("call", "0", "1"), ("offsets", "0@2"), ("call", "2"), ("offsets", "0@3")]


def test_a_run_retried_whole_after_a_later_transaction_failed_skips_what_it_committed() -> None:
    rig = Rig(bounds=TransactionBounds(max_records=2))
    rig.fail_on = {2}
    with fails_at(2, ValueError):
        rig.run([0, 1, 2, 3])  # 0 and 1 committed, then the second transaction aborted
    rig.fail_on = set()
    rig.journal.clear()
    rig.run([0, 1, 2, 3])  # a retry of the whole run
    written = [entry[2] for entry in rig.journal if entry[0] == "produce"]
    assert written == ["v2", "v3"]
    assert rig.journal[-2:] == [("offsets", "0@4"), ("commit",)]


def test_a_failing_record_commits_the_records_before_it_and_fails_alone() -> None:
    rig = Rig()
    rig.fail_on = {1}
    with fails_at(1, ValueError):
        rig.run([0, 1, 2])
    assert rig.journal[-4:] == [
        ("begin",),
        ("produce", "out", "v0"),
        ("offsets", "0@1"),
        ("commit",),
    ]
    rig.fail_on = set()
    rig.run([1, 2])  # the retry starts at the failed record
    assert rig.journal[-2:] == [("offsets", "0@3"), ("commit",)]
    assert rig.runner.aborted == 0 and rig.runner.committed == 2


def test_a_record_failing_first_in_its_transaction_aborts_it_empty() -> None:
    rig = Rig()
    rig.fail_on = {0}
    with fails_at(0, ValueError):
        rig.run([0, 1])
    assert rig.journal[-2:] == [("begin",), ("abort",)]
    assert rig.runner.aborted == 1 and rig.runner.committed == 0


def test_a_failed_commit_fails_at_the_transactions_first_record_keeping_earlier_ones() -> None:
    rig = Rig(bounds=TransactionBounds(max_records=2))
    rig.run([0])
    rig.producers[0].fail_commit = RuntimeError("coordinator gone")
    with fails_at(0, RuntimeError):
        rig.run([1, 2])
    assert rig.journal[-1] == ("abort",)


def test_the_observer_hears_where_each_committed_transaction_landed() -> None:
    observer = Observer()
    rig = Rig(per_batch=True, bounds=TransactionBounds(max_records=2), observer=observer)
    rig.run([0, 1, 2])
    assert observer.told == [([0, 1], {("out", 0): (0, 1)}), ([2], {("out", 0): (2, 2)})]


def test_the_observer_never_hears_of_an_aborted_transaction() -> None:
    observer = Observer()
    rig = Rig(per_batch=True, observer=observer)
    rig.run([0])
    rig.producers[0].fail_commit = RuntimeError("coordinator gone")
    with fails_at(0, RuntimeError):
        rig.run([1, 2])  # written (offsets 1 and 2 of "out"), then aborted
    rig.run([1, 2])  # written again (3 and 4), committed
    assert observer.told == [([0], {("out", 0): (0, 0)}), ([1, 2], {("out", 0): (3, 4)})]


def test_a_dead_letter_commits_with_the_offset_after_its_record() -> None:
    rig = Rig()
    rig.fail_on = {1}
    with fails_at(1, ValueError):
        rig.run([0, 1, 2])
    rig.journal.clear()
    failed = Record(TOPIC, 0, 1, b"k", b"v1", [], 0, 1)
    rig.runner.dead_letter(failed, lambda p: p.produce("in.dlq", b"v1", b"k"))
    assert rig.journal == [
        ("begin",),
        ("produce", "in.dlq", "v1"),
        ("offsets", "0@2"),
        ("commit",),
    ]


def test_a_dead_letter_of_a_past_ownership_is_refused() -> None:
    rig = Rig()
    rig.run([0], epoch=2)
    with pytest.raises(TransactionFenced):
        rig.runner.dead_letter(Record(TOPIC, 0, 1, b"k", b"v", [], 0, 1), lambda p: None)
    assert rig.journal[-1] == ("commit",)


def test_a_fenced_owner_whose_gate_closed_writes_nothing_more() -> None:
    rig = Rig()
    rig.run([0])
    rig.producers[0].fail_commit = fenced()
    with fails_at(0, ProducerFencedError):
        rig.run([1])
    assert rig.runner.fenced == 1
    rig.gate_open = False  # the partition is someone else's now
    with pytest.raises(TransactionFenced):
        rig.run([1])
    assert len(rig.producers) == 1  # it did not take the id back


def test_an_owner_fenced_by_a_late_run_of_a_past_ownership_takes_its_id_back_bounded() -> None:
    rig = Rig()
    rig.run([0])
    for offset in range(1, MAX_TAKEOVERS + 1):
        rig.producers[-1].fail_commit = fenced()
        with fails_at(0, ProducerFencedError):
            rig.run([offset])
        rig.run([offset])  # gate still open: a new producer fences the zombie back
        assert rig.journal[-1] == ("commit",)
    assert len(rig.producers) == MAX_TAKEOVERS + 1
    assert all(p.closed for p in rig.producers[:-1])
    rig.producers[-1].fail_commit = fenced()
    with fails_at(0, ProducerFencedError):
        rig.run([MAX_TAKEOVERS + 1])
    with pytest.raises(TransactionFenced):
        rig.run([MAX_TAKEOVERS + 1])


def test_a_run_whose_gate_closed_during_the_takeover_writes_nothing() -> None:
    rig = Rig(clock=Ticking())
    rig.close_gate_on_committed_read = True  # the takeover's offset read: after init
    with pytest.raises(PartitionNotOwned):
        rig.run([0])
    assert [entry[0] for entry in rig.journal] == ["connect", "init", "committed?"]
    assert rig.producers[0].closed


def test_a_run_whose_gate_closed_before_the_takeover_fences_no_one() -> None:
    rig = Rig(clock=Ticking())
    rig.gate_open = False  # dispatched, then its process froze past the ownership
    with pytest.raises(PartitionNotOwned):
        rig.run([0])
    assert "init" not in [entry[0] for entry in rig.journal]
    assert rig.producers[0].closed


def test_a_new_ownership_opens_a_new_producer() -> None:
    rig = Rig()
    rig.run([0], epoch=1)
    rig.run([1], epoch=2)
    assert [p.closed for p in rig.producers] == [True, False]
    assert [entry[0] for entry in rig.journal].count("init") == 2


def test_a_partition_kept_across_a_rebalance_keeps_its_producer_and_fences_no_one() -> None:
    rig = Rig()
    rig.ownership_began[0] = 1
    rig.run([0], epoch=1)
    rig.run([1], epoch=2)  # re-stamped at epoch 2, owned since 1
    assert len(rig.producers) == 1 and not rig.producers[0].closed
    assert [entry[0] for entry in rig.journal].count("init") == 1


def test_a_partition_claimed_again_after_a_release_takes_its_id_over_again() -> None:
    rig = Rig()
    rig.ownership_began[0] = 1
    rig.run([0], epoch=1)
    rig.ownership_began[0] = 3  # released at 2, claimed again at 3
    rig.run([1], epoch=3)
    assert [p.closed for p in rig.producers] == [True, False]
    assert [entry[0] for entry in rig.journal].count("init") == 2


def test_past_the_ceiling_a_partition_is_refused_not_shared() -> None:
    rig = Rig(max_producers=2)
    rig.run([0], partition=0)
    rig.run([0], partition=1)
    with pytest.raises(TooManyTransactionalProducers):
        rig.run([0], partition=2)
    assert len(rig.producers) == 2


def test_at_the_ceiling_producers_of_partitions_given_up_make_room() -> None:
    rig = Rig(max_producers=1)
    rig.run([0], partition=0)
    rig.released.add(0)
    rig.run([0], partition=1)
    assert [p.closed for p in rig.producers] == [True, False]


def test_a_warm_standby_connects_its_producers_without_initialising_them() -> None:
    rig = Rig()
    rig.runner.prepare("g", [(TOPIC, 0), (TOPIC, 1)])
    assert rig.journal == [
        ("connect", "turnout.3:dep.1:g.2:in.0", "out"),
        ("connect", "turnout.3:dep.1:g.2:in.1", "out"),
    ]
    rig.runner.prepare("g", [(TOPIC, 0)])  # asked again: nothing more is made
    assert len(rig.producers) == 2


def test_a_standby_leaves_a_partition_of_its_past_ownership_to_the_claim() -> None:
    rig = Rig()
    rig.run([0])
    rig.released.add(0)  # the colour went standby: the partition's gate is shut
    rig.runner.prepare("g", [(TOPIC, 0), (TOPIC, 1)])
    assert [p.txid for p in rig.producers] == [
        "turnout.3:dep.1:g.2:in.0",
        "turnout.3:dep.1:g.2:in.1",
    ]
    assert not rig.producers[0].closed
    rig.released.clear()
    rig.run([1], epoch=2)  # the next ownership of partition 0 makes its new producer
    assert [p.closed for p in rig.producers] == [True, False, False]


def test_a_claim_takes_the_prepared_producer_and_only_initialises_it() -> None:
    rig = Rig()
    rig.runner.prepare("g", [(TOPIC, 0)])
    rig.journal.clear()
    rig.run([0])
    assert len(rig.producers) == 1
    assert rig.journal[0] == ("init", "turnout.3:dep.1:g.2:in.0")


def test_prepared_producers_stay_within_the_ceiling_and_give_way_to_a_claim() -> None:
    rig = Rig(max_producers=2)
    rig.run([0], partition=5)
    rig.runner.prepare("g", [(TOPIC, 0), (TOPIC, 1)])  # room for one
    assert len(rig.producers) == 2
    rig.run([0], partition=2)  # not foreseen: the guess makes room
    assert [p.closed for p in rig.producers] == [False, True, False]


def test_closing_the_runner_closes_the_prepared_producers() -> None:
    rig = Rig()
    rig.runner.prepare("g", [(TOPIC, 0)])
    rig.runner.close(1.0)
    assert rig.producers[0].closed


def test_transactions_are_counted_in_the_registry_as_they_begin_and_end() -> None:
    rig = Rig()
    rig.run([0])
    rig.fail_on = {1}
    with fails_at(0, ValueError):
        rig.run([1])
    rig.fail_on = set()
    rig.producers[0].fail_commit = fenced()
    with fails_at(0, ProducerFencedError):
        rig.run([1])

    def value(name: str) -> float | None:
        return rig.registry.get_sample_value(name)

    assert value("turnout_processor_transactions_begun_total") == 3
    assert value("turnout_processor_transactions_committed_total") == 1
    assert value("turnout_processor_transactions_aborted_total") == 1
    assert value("turnout_processor_transactions_fenced_total") == 1
    assert value("turnout_processor_transaction_commit_seconds_count") == 1


def test_runners_of_successive_settings_share_one_set_of_counters_per_registry() -> None:
    registry = CollectorRegistry()
    assert TransactionMetrics.for_registry(registry) is TransactionMetrics.for_registry(registry)


def test_an_ownership_abandoned_by_its_release_commits_nothing_more() -> None:
    rig = Rig()
    rig.run([0])
    rig.runner.abandon((TOPIC, 0))  # the release's drain timed out on the next run
    with fails_at(0, PartitionNotOwned):
        rig.run([1])
    assert rig.journal[-3:] == [("begin",), ("produce", "out", "v1"), ("abort",)]
    assert rig.journal.count(("commit",)) == 1


def test_a_held_record_keeps_every_later_transaction_of_its_ownership_from_committing_past_it() -> (
    None
):
    rig = Rig()
    rig.fail_on = {2}
    with fails_at(2, ValueError):
        rig.run([0, 1, 2, 3])
    rig.runner.hold(Record(TOPIC, 0, 2, b"k", b"v2", (), 0, 1))  # DO_NOT_COMMIT_AND_CONTINUE
    rig.journal.clear()
    rig.run([3, 4])
    rig.run([5])
    assert rig.journal == []  # passed over: neither produced nor committed
    rig.run([3, 4], partition=1)  # another partition goes on
    assert ("offsets", "1@5") in rig.journal


def test_a_hold_ends_with_its_ownership() -> None:
    rig = Rig(committed=2)
    rig.run([0, 1])
    rig.runner.hold(Record(TOPIC, 0, 2, b"k", b"v2", (), 0, 1))
    rig.journal.clear()
    rig.run([2, 3], epoch=2)  # the next owner starts at the held record
    assert ("produce", "out", "v2") in rig.journal
    assert ("offsets", "0@4") in rig.journal
    rig.runner.hold(Record(TOPIC, 0, 3, b"k", b"v3", (), 0, 1))  # the past ownership's, late
    rig.journal.clear()
    rig.run([4], epoch=2)
    assert ("offsets", "0@5") in rig.journal


def test_a_hold_goes_on_while_its_partition_is_kept_across_a_rebalance() -> None:
    rig = Rig()
    rig.ownership_began[0] = 1
    rig.fail_on = {2}
    with fails_at(2, ValueError):
        rig.run([0, 1, 2, 3])
    rig.runner.hold(Record(TOPIC, 0, 2, b"k", b"v2", (), 0, 1))
    rig.journal.clear()
    rig.run([3, 4], epoch=2)  # re-stamped at epoch 2, owned since 1: still held
    assert rig.journal == []
