"""Exactly-once processing: a partition's outputs and its input offsets commit in one
Kafka transaction, through one transactional producer per owned input partition.

The runner is the work manager's batch handler under ``partition`` ordering (one run of
a partition at a time, in offset order; the settings are refused otherwise), and every
run is one or more whole transactions: it returns only after committing them. So no
transaction is ever open between two runs, and a release (switch, clean stop) needs no
commit of its own: the drain waits for the run in flight, whose commit is the
partition's last. Offsets of such a partition are committed ONLY by its transactions;
the agent's normal commit path records the commit point without writing it
(``WorkManager.commits_offsets``).

Per input partition (``_Partition``)::

    absent ──the agent, a warm standby, expects to claim it (``prepare``)──▶ prepared:
        a producer with the id below, created and connected, NOT initialised (that
        would fence the live owner before the switch)
    absent or prepared ──first run of an ownership (an epoch the partition was not
        kept across: ``KafkaGroup.ownership_began``)──▶ initialising:
        a producer with ``transactional_id(deployment, group, tp)`` (the prepared one, if
        its id matches; else a new one, connected first as a prepared one is);
        ``init_transactions``
        fences the previous owner's producer and finishes or aborts its open transaction;
        then the committed offset is read again (it may have moved past where this owner
        started, if the predecessor's commit was completing): records below it are skipped
    initialising ──▶ ready
    ready ──a run──▶ in transaction: begin; per record the processor's outputs produced
        (a batch processor: one call over at most the record bound); at
        ``TransactionBounds`` (records or time) or the run's end: the offsets after the
        last record sent with the consumer group's metadata, then commit ──▶ ready, the
        floor raised past the committed records (a retry of the run skips them)
    in transaction ──the processor raised (nothing of its call produced, ``emitting.py``)──▶
        the records before it committed (an empty transaction aborted) ──▶ ready; the run
        fails at that record (``RecordFailed``): it alone is retried or decided
    in transaction ──a delivery or the commit failed──▶ aborted ──▶ ready (the run fails at
        the transaction's first record; its earlier transactions stay committed)
    ready ──a dead letter (``dead_letter``, from ``dead_letters.py``)──▶ one transaction:
        the letter and the offset after its record ──▶ ready
    any ──a failure decision holds a record (``hold``: ``DO_NOT_COMMIT_*``)──▶ held at it
        for this ownership: runs commit only records before it; records at or past it
        are passed over (a transaction cannot commit them without committing the offset
        past the held one), and the next owner starts at the held record
    any ──fenced (another producer called init_transactions with the id)──▶ fenced: the
        transaction is dropped (never committed) and the run fails (retried by the
        failure policy). The next run takes the id over again only while the agent's
        gate still says the partition is this instance's (then the fencer was a zombie:
        a run of a past ownership whose ``init_transactions`` completed late), at most
        ``MAX_TAKEOVERS`` times per ownership; otherwise it fails with
        ``TransactionFenced``, and whoever owns the partition re-reads from the committed
        offset

With a ``WriteObserver`` (an ``OutputTarget``'s: the mirror's offset syncs) each record's
delivery report notes its offset, and once a transaction COMMITTED the observer is told
where its inputs' outputs landed; an aborted or fenced transaction tells it nothing, so
it never hears of a copy a ``read_committed`` reader cannot see. A committed transaction
whose reports did not all come (never expected: the commit flushes them) tells it
nothing either, and an observer that raises is logged: the transaction stands.

The gate (``DispatchContext.may_start``) is asked before and after ``init_transactions``
and before every transaction: a run that outlived its ownership (a drain that timed out, a frozen
process woken) writes nothing, even if its late ``init_transactions`` fenced the owner
(who then takes the id back). A release whose drain timed out also ``abandon``s the
partition before its owner node goes: the transaction in flight then never commits.

Why this module is long: one partition's state machine (takeover, transactions, dead
letters, aborts and fencing) works on one ``_Partition`` under one lock; split, each part
would reach into the others' state.

Cost and ceiling: a producer per owned partition (a librdkafka handle: its threads, its
connections to the brokers it writes to and its coordinator, its buffers), kept after a
release (the runner hears of releases only through the gate) until the partition's next
ownership replaces it, the manager closes, or the ceiling needs the room.
``MAX_TRANSACTIONAL_PRODUCERS`` bounds them per agent: at it, the producers of partitions
whose gate is shut are closed first, and a run of one partition more still fails with
``TooManyTransactionalProducers`` rather than share a producer (which would tie
partitions' fates together) or degrade silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry

from turnout.agent.dispatch import GATE_RECHECK_S, KafkaGroup
from turnout.agent.processors.emitting import ProcessorCall, ProcessorRaised, writes_of
from turnout.agent.processors.output_target import (
    OffsetSpan,
    TargetPartition,
    WriteObserver,
    noting_offsets,
)
from turnout.agent.processors.routing import Routes
from turnout.agent.processors.target_positions import input_position
from turnout.agent.processors.transaction_metrics import TransactionMetrics
from turnout.agent.processors.transactions import TransactionBounds, transactional_id
from turnout.agent.records import Record
from turnout.agent.work.outcomes import PermanentFailure, RecordFailed
from turnout.producer import (
    DeliveryCountdown,
    FatalProducerError,
    ProducerConfig,
    TransactionalProducer,
)
from turnout.producer.reports import ReportCallback
from turnout.protocol.models import Role
from turnout.protocol.partitions import PartitionId

log = logging.getLogger("turnout.processors")

#: Transactional producers one agent may hold (one per owned input partition): each is a
#: librdkafka handle with its own threads and broker connections (docs/processors.md
#: gives what one costs). Past it a partition's runs fail visibly instead.
MAX_TRANSACTIONAL_PRODUCERS = 64
#: Times one ownership of a partition takes its transactional id back from a fencer
#: while its gate is open (each fencer being a late run of a past ownership): more means
#: something else holds the id, and the partition stops rather than fight over it.
MAX_TAKEOVERS = 3
#: How long a run waits for its partition's gate to open again before a transaction: the
#: agent shuts it briefly while it applies a directive; a gate shut longer means the
#: partition is going (a release waits for the run, so this also bounds that wait).
GATE_WAIT_S = 1.0
#: How long a warm standby waits for the cluster's answer to one prepared producer's
#: metadata request (and a claim without a prepared producer, for its new one's): a
#: standby is not in a hurry, but a cluster that does not answer must not hold up the
#: agent thread (the producer is then created at the claim).
PREPARE_CONNECT_TIMEOUT_S = 5.0
#: How long a release that gave up on a partition's run waits for a commit of it already
#: under way (milliseconds on a healthy cluster) before it goes on: past it, the new
#: owner's ``init_transactions`` fences that commit or waits for it (then the new owner
#: reads the committed offset after it), so this bounds the agent thread's wait only.
ABANDON_WAIT_S = 1.0
#: How long closing one partition's producer may take when the manager closes: its
#: transactions are all committed or aborted by then, so this only flushes nothing.
PRODUCER_CLOSE_TIMEOUT_S = 5.0

OutputProducer = TransactionalProducer[bytes | str, bytes | str]


class TransactionFenced(PermanentFailure):
    """A newer owner of the partition took over its transactional id: this owner's
    uncommitted work is dropped, and it processes the partition no more."""


class PartitionNotOwned(Exception):
    """The gate closed on the partition: the run writes nothing more (its records are
    dropped with the partition, or run again when the gate opens)."""


class TooManyTransactionalProducers(PermanentFailure):
    """The agent holds ``MAX_TRANSACTIONAL_PRODUCERS`` already."""


class _Landed:
    """Where one transaction's outputs landed, from their delivery reports."""

    __slots__ = ("countdowns", "spans")

    def __init__(self) -> None:
        self.spans: dict[TargetPartition, OffsetSpan] = {}
        self.countdowns: list[DeliveryCountdown] = []

    def report(self, producer: OutputProducer, expected: int) -> ReportCallback:
        countdown = DeliveryCountdown(expected)
        self.countdowns.append(countdown)
        return noting_offsets(producer.reporting_to(countdown), self.spans)

    def complete(self) -> bool:
        return all(c.remaining == 0 and not c.failures for c in self.countdowns)


class _Partition:
    __slots__ = ("abandoned", "committing", "epoch", "fenced", "floor", "producer", "takeovers")

    def __init__(self, producer: OutputProducer, epoch: int, takeovers: int) -> None:
        self.producer = producer
        self.epoch = epoch
        #: How many times this ownership took the id back from a fencer.
        self.takeovers = takeovers
        #: Records below this were committed by a predecessor (read after fencing it).
        self.floor = 0
        self.fenced = False
        #: Held around the last check and the commit; ``abandon`` takes it.
        self.committing = threading.Lock()
        #: The release gave up waiting for this ownership's run: it commits nothing more.
        self.abandoned = False


class ExactlyOnceRunner:
    """Runs a processor as the work manager's batch handler (see the module docstring)."""

    def __init__(
        self,
        function: ProcessorCall,
        *,
        per_batch: bool,
        routes: Routes,
        role: Callable[[], Role | None],
        gate: Callable[[PartitionId], bool],
        group: KafkaGroup,
        producer_config: ProducerConfig,
        transaction_timeout_ms: int,
        registry: CollectorRegistry,
        bounds: TransactionBounds | None = None,
        max_producers: int = MAX_TRANSACTIONAL_PRODUCERS,
        clock: Callable[[], float] = time.monotonic,
        new_producer: Callable[[str], OutputProducer] | None = None,
        position: Callable[[PartitionId, int], TopicPartition] | None = None,
        observer: WriteObserver | None = None,
    ) -> None:
        self._function = function
        self._per_batch = per_batch
        self._routes = routes
        self._role = role
        self._gate = gate
        self._group = group
        self._producer_config = producer_config
        self._transaction_timeout_ms = transaction_timeout_ms
        self._registry = registry
        self._bounds = bounds or TransactionBounds()
        self._max_producers = max_producers
        self._clock = clock
        #: A transactional producer with a given id (a seam for the unit tests).
        self._new_producer = new_producer or self._transactional_producer
        #: Where a partition's next offset is committed (``target_positions``).
        self._position = position or input_position
        #: Told where each committed transaction's outputs landed.
        self._observer = observer
        self._lock = threading.Lock()
        self._partitions: dict[PartitionId, _Partition] = {}
        #: A warm standby's producers, created and connected, not initialised: by id.
        self._prepared: dict[str, OutputProducer] = {}
        #: Per partition, the ownership (the epoch it began at) and offset of its held
        #: record (``hold``).
        self._held: dict[PartitionId, tuple[int, int]] = {}
        #: Transactions committed and aborted, and fencings seen (this runner's; the
        #: registry's counters carry on across runners).
        self.committed = 0
        self.aborted = 0
        self.fenced = 0
        self._metrics = TransactionMetrics.for_registry(registry)

    def handle_batch(self, records: Sequence[Record]) -> None:
        """Process a run of one partition in whole transactions (see the module)."""
        first = records[0]
        tp = (first.topic, first.partition)
        held = self._held.get(tp)
        ownership = self._ownership_of(tp, first.epoch)
        limit = held[1] if held is not None and held[0] == ownership else None
        if limit is not None and first.offset >= limit:
            return  # passed over: see ``hold``
        part = self._partition(tp, first.epoch)
        todo: Sequence[Record] = records
        if first.offset < part.floor or limit is not None:
            todo = [
                record
                for record in records
                if record.offset >= part.floor and (limit is None or record.offset < limit)
            ]
        skipped = len(records) - len(todo)
        start = 0
        while start < len(todo):
            try:
                start = self._transaction(part, tp, todo, start)
            except ProcessorRaised as failed:
                # The processor raised at todo[failed.at]: the records before it are
                # committed (their outputs and offsets), that one alone fails.
                raise RecordFailed(skipped + failed.at, failed.cause) from failed.cause
            except Exception as exc:
                # Aborted: the earlier transactions of this run stay committed.
                raise RecordFailed(skipped + start, exc) from exc

    def hold(self, record: Record) -> None:
        """The failure decision for ``record`` keeps it uncommitted (``DO_NOT_COMMIT_*``):
        for the rest of this ownership, no transaction of its partition commits an offset
        past it. A transaction commits a partition's outputs together with its offset, so
        the records after the held one cannot commit either: from here on they are passed
        over (neither processed nor written), and the partition's next owner, starting at
        the held record, processes them. Called before the partition's next run starts."""
        tp = (record.topic, record.partition)
        ownership = self._ownership_of(tp, record.epoch)
        with self._lock:
            held = self._held.get(tp)
            if held is not None and held[0] > ownership:
                return  # a past ownership's decision, come late
            if held is None or held[0] < ownership or record.offset < held[1]:
                self._held[tp] = (ownership, record.offset)
        log.warning(
            "%s/%d@%d held: this ownership commits nothing of the partition from it on, "
            "and passes its later records over to the next owner",
            tp[0],
            tp[1],
            record.offset,
            extra={"event": "partition_held"},
        )

    def close(self, timeout_s: float) -> None:
        """Close every partition's producer (no transaction is open between runs)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            producers = [part.producer for part in self._partitions.values()]
            producers += self._prepared.values()
            self._partitions.clear()
            self._prepared.clear()
        for producer in producers:
            producer.close(max(0.0, min(PRODUCER_CLOSE_TIMEOUT_S, deadline - time.monotonic())))

    def prepare(self, group: str, partitions: Sequence[PartitionId]) -> None:
        """A warm standby's preparation (``WarmStandby``): create the transactional
        producers of ``partitions`` under the live ``group`` and connect each (a metadata
        request for the live outputs), so that a claim of one is left only
        ``init_transactions``, which fences the live owner and so must wait for the
        switch. Partitions whose producer is still held from a past ownership are left
        to their claim. Held producers and prepared ones together stay within the
        ceiling."""
        topics = sorted(self._routes.topics(Role.LIVE))
        for tp in partitions:
            txid = transactional_id(self._group.deployment, group, tp)
            with self._lock:
                room = self._max_producers - len(self._partitions) - len(self._prepared)
                # A partition of a past ownership still has its producer (kept after the
                # release; one with the same id cannot stand beside it): its claim makes
                # the new one, as without preparation, rather than this standby spending
                # its agent thread on closing producers.
                if txid in self._prepared or tp in self._partitions or room <= 0:
                    continue
            producer = self._new_producer(txid)
            try:
                producer.connect(topics, PREPARE_CONNECT_TIMEOUT_S)
            except Exception:
                producer.close(0.0)
                raise
            with self._lock:
                self._prepared[txid] = producer
        log.info(
            "transactional producers ready for %d partitions of %s",
            len(partitions),
            group,
            extra={"event": "transactions_prepared"},
        )

    def _transactional_producer(self, txid: str) -> OutputProducer:
        return TransactionalProducer(
            self._producer_config,
            txid,
            transaction_timeout_ms=self._transaction_timeout_ms,
            registry=self._registry,
            # The commit confirms a transaction's records: a report per record would
            # only count them (see the producer's module), unless an observer must hear
            # where they landed.
            failure_reports_only=self._observer is None,
        )

    # ---- one partition ------------------------------------------------------------------

    def _partition(self, tp: PartitionId, epoch: int) -> _Partition:
        takeovers = 0
        with self._lock:
            part = self._partitions.get(tp)
            if part is not None and self._same_ownership(part, tp, epoch):
                if not part.fenced:
                    return part
                if not self._gate(tp) or part.takeovers >= MAX_TAKEOVERS:
                    raise TransactionFenced(f"{tp[0]}/{tp[1]}: fenced under epoch {epoch}")
                takeovers = part.takeovers + 1
            idle: list[OutputProducer] = []
            group = self._group.group()
            txid = transactional_id(self._group.deployment, group, tp) if group else None
            prepared = self._prepared.pop(txid, None) if txid is not None else None
            if part is None and len(self._partitions) + len(self._prepared) >= self._max_producers:
                # Producers of partitions given up since (their gate shut), and a standby's
                # guesses, make room first.
                for other in [o for o in self._partitions if not self._gate(o)]:
                    idle.append(self._partitions.pop(other).producer)
                idle += self._prepared.values()
                self._prepared.clear()
            full = part is None and len(self._partitions) >= self._max_producers
            old = None if full else self._partitions.pop(tp, None)
        if full and prepared is not None:
            idle.append(prepared)
        for gone in [*idle, *([old.producer] if old is not None else [])]:
            gone.close(PRODUCER_CLOSE_TIMEOUT_S)
        if full:
            raise TooManyTransactionalProducers(
                f"{tp[0]}/{tp[1]}: this agent holds {self._max_producers} transactional "
                "producers already (MAX_TRANSACTIONAL_PRODUCERS)"
            )
        if txid is None:
            raise TransactionFenced(f"{tp[0]}/{tp[1]}: no consumer group (not owned)")
        producer = prepared if prepared is not None else self._new_producer(txid)
        part = _Partition(producer, epoch, takeovers)
        try:
            if prepared is None:  # connected as a standby's are (``Producer.connect``)
                role = self._role()
                topics = self._routes.topics(role) if role is not None else frozenset()
                producer.connect(sorted(topics), PREPARE_CONNECT_TIMEOUT_S)
            # Asked before too: a run that outlived its ownership (its process frozen
            # since the dispatch) must not fence the new owner with its id at all.
            self._wait_for_gate(tp)
            producer.init_transactions()
            committed = self._group.committed(tp)
            self._wait_for_gate(tp)
        except BaseException:
            producer.close(0.0)
            raise
        part.floor = committed if committed is not None else 0
        with self._lock:
            self._partitions[tp] = part
        log.info(
            "%s/%d: transactional id %s taken over (epoch %d), committed offset %s",
            tp[0],
            tp[1],
            txid,
            epoch,
            committed,
            extra={"event": "transactions_initialised"},
        )
        return part

    def _transaction(
        self, part: _Partition, tp: PartitionId, records: Sequence[Record], start: int
    ) -> int:
        """One transaction over ``records[start:]`` up to the bounds; the index after it."""
        self._wait_for_gate(tp)
        producer = part.producer
        bounds = self._bounds
        role = self._role()
        topic = self._routes.topic
        opened_at = self._clock()
        end = start
        metrics = self._metrics
        landed = None if self._observer is None else _Landed()
        try:
            producer.begin_transaction()
            metrics.begun.inc()
            raised: ProcessorRaised | None = None
            if self._per_batch:
                try:
                    # One call per transaction, of at most the record bound (the time
                    # bound cannot cut a call short).
                    limit = min(len(records), start + bounds.max_records)
                    self._emit(producer, records[start:limit], None, role, topic, landed)
                    end = limit
                except ProcessorRaised as exc:
                    raised = exc
            else:
                while end < len(records):
                    record = records[end]
                    try:
                        self._emit(producer, record, record.key, role, topic, landed)
                    except ProcessorRaised as exc:
                        raised = exc
                        break
                    end += 1
                    if bounds.due(end - start, opened_at, self._clock()):
                        break
            if end > start:
                self._commit(part, tp, records[end - 1].offset + 1)
        except BaseException as exc:
            self._abort(part, tp, exc)
            raise
        if end > start:
            # A later transaction of this run may fail, and the run is then retried from
            # that transaction's first record: those committed here are not written again.
            part.floor = records[end - 1].offset + 1
            self.committed += 1
            metrics.committed.inc()
            if landed is not None:
                self._observe(tp, records[start:end], landed)
        if raised is not None:
            if end == start:
                self._abort(part, tp, raised)  # nothing in it
            raised.at = end
            raise raised
        return end

    def _commit(self, part: _Partition, tp: PartitionId, next_offset: int) -> None:
        """Send ``next_offset`` as ``tp``'s offset with the group's metadata (where the
        positions live: ``position``), and commit, unless the release abandoned this
        ownership (then ``PartitionNotOwned``)."""
        producer = part.producer
        offsets = [self._position(tp, next_offset)]
        with part.committing:
            if part.abandoned:
                raise PartitionNotOwned(f"{tp[0]}/{tp[1]}: released while in a transaction")
            producer.send_offsets_to_transaction(offsets, self._group.metadata())
            committing = time.monotonic()
            producer.commit_transaction()
        self._metrics.commit_seconds.observe(time.monotonic() - committing)

    def abandon(self, tp: PartitionId) -> None:
        """The release of ``tp`` gave up waiting for its run (the drain timed out): once
        this returns, that ownership commits nothing (a commit under way is waited for,
        up to ``ABANDON_WAIT_S``), so nothing of it commits after the release."""
        with self._lock:
            part = self._partitions.get(tp)
        if part is None:
            return
        waited = part.committing.acquire(timeout=ABANDON_WAIT_S)
        part.abandoned = True
        if waited:
            part.committing.release()

    def dead_letter(self, record: Record, write: Callable[[OutputProducer], None]) -> None:
        """One transaction of the partition of ``record``: ``write`` (its dead letter) and
        the offset after it, so that the letter and the skip commit together or not at
        all. Raises ``TransactionFenced`` when this ownership can no longer commit."""
        tp = (record.topic, record.partition)
        with self._lock:
            part = self._partitions.get(tp)
        if part is None or not self._same_ownership(part, tp, record.epoch) or part.fenced:
            raise TransactionFenced(f"{tp[0]}/{tp[1]}: not this ownership's to commit")
        self._wait_for_gate(tp)
        producer = part.producer
        try:
            producer.begin_transaction()
            self._metrics.begun.inc()
            write(producer)
            self._commit(part, tp, record.offset + 1)
        except BaseException as exc:
            self._abort(part, tp, exc)
            raise
        part.floor = record.offset + 1
        self.committed += 1
        self._metrics.committed.inc()

    def _ownership_of(self, tp: PartitionId, epoch: int) -> int:
        """The epoch the ownership a record fetched at ``epoch`` belongs to began at: a
        partition kept across rebalances is re-stamped, its ownership (and a hold of it)
        goes on."""
        began = self._group.ownership_began(tp)
        return began if began is not None and began <= epoch else epoch

    def _same_ownership(self, part: _Partition, tp: PartitionId, epoch: int) -> bool:
        """Whether a run at ``epoch`` belongs to the ownership ``part`` was taken over in:
        the same epoch, or a later one the partition was kept across (re-stamped, not
        released): its producer goes on, and no takeover fences anyone."""
        if part.epoch == epoch:
            return True
        began = self._group.ownership_began(tp)
        return began is not None and part.epoch >= began and epoch >= began

    def _wait_for_gate(self, tp: PartitionId) -> None:
        """Return once the gate is open; raise ``PartitionNotOwned`` if it stays shut for
        ``GATE_WAIT_S``: a gate shut only while the agent rebalances other partitions
        must not fail the run (a failure is retried, and shows as one)."""
        deadline = self._clock() + GATE_WAIT_S
        while not self._gate(tp):
            if self._clock() >= deadline:
                raise PartitionNotOwned(f"{tp[0]}/{tp[1]}: not this instance's any more")
            time.sleep(GATE_RECHECK_S)

    def _emit(
        self,
        producer: OutputProducer,
        unit: object,
        input_key: bytes | None,
        role: Role | None,
        topic: Callable[[str, Role | None], str],
        landed: _Landed | None,
    ) -> None:
        """Produce the outputs of the processor's call on ``unit`` (``emitting.py``),
        noting where they land in ``landed`` if given (only then does a record's delivery
        report come back to Python: the commit confirms them all)."""
        writes = writes_of(self._function, unit, input_key, self._per_batch, role, topic)
        if landed is None:
            producer.produce_writes(writes)
        else:
            producer.produce_writes(writes, landed.report(producer, len(writes)))

    def _observe(self, tp: PartitionId, records: Sequence[Record], landed: _Landed) -> None:
        """Tell the observer where a committed transaction's outputs landed (see the
        module): after the floor moved, so that nothing here can make them run again."""
        assert self._observer is not None
        if not landed.complete():
            log.warning(
                "%s/%d: a committed transaction's delivery reports are incomplete: where "
                "its outputs landed is not recorded",
                tp[0],
                tp[1],
            )
            return
        try:
            self._observer.written(records, landed.spans)
        except Exception:
            log.exception("%s/%d: the write observer failed (the transaction stands)", *tp)

    def _abort(self, part: _Partition, tp: PartitionId, cause: BaseException) -> None:
        """Drop the open transaction; a fencing ends this ownership's processing of ``tp``."""
        if isinstance(cause, FatalProducerError):
            self._fenced(part, tp, cause)
            return
        try:
            part.producer.abort_transaction()
            self.aborted += 1
            self._metrics.aborted.inc()
        except FatalProducerError as exc:
            self._fenced(part, tp, exc)

    def _fenced(self, part: _Partition, tp: PartitionId, cause: BaseException) -> None:
        part.fenced = True
        self.fenced += 1
        self._metrics.fenced.inc()
        log.warning(
            "%s/%d: transaction fenced, its uncommitted work dropped: %s",
            tp[0],
            tp[1],
            cause,
            extra={"event": "transaction_fenced"},
        )
