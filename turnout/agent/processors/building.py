"""A processor as the work manager's handler, for one version of the processing settings.

The work manager is built per settings version (``work/deployment.py``); when the code's
handler is a processor, its handler is the runner of the settings' guarantee, over the
producers that manager owns and closes. With an ``OutputTarget`` (the mirror's) the
producer is on the target's cluster and the target's routes name the topics; under
exactly once the input positions are stored there too (``target_positions``). Settings a
processor cannot run with are refused (``UnsupportedSettings``), so that the agent keeps
its last good settings visibly rather than run with a weaker guarantee. A coroutine
processor is run as a plain call (``coroutines.py``); under ``exactly_once`` the runner
also writes the dead letters (``dead_letters.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka.admin import AdminClient

from turnout.agent.dispatch import DispatchContext
from turnout.agent.processors.at_least_once import (
    ACKNOWLEDGED_RUN_RECORDS,
    AtLeastOnceRunner,
    ProcessorFunction,
)
from turnout.agent.processors.confirmed_writes import PREPARED_PRODUCERS, ConfirmedWrites
from turnout.agent.processors.coroutines import plain_processor
from turnout.agent.processors.dead_letters import TransactionalDeadLetters
from turnout.agent.processors.exactly_once import (
    ExactlyOnceRunner,
    PartitionNotOwned,
    TransactionFenced,
)
from turnout.agent.processors.output_target import OutputTarget
from turnout.agent.processors.routing import OutputRoutes, Routes
from turnout.agent.processors.target_positions import TargetPositions
from turnout.agent.processors.transactions import TransactionBounds, transaction_timeout_ms
from turnout.agent.records import Record
from turnout.agent.work.config import DeadLetterConfig
from turnout.agent.work.dead_letters import DeadLetterSink, DeadLetterTopics
from turnout.producer import ConfirmingProducer, Producer, ProducerConfig
from turnout.producer.config import RESERVED_PROPERTIES
from turnout.protocol.partitions import PartitionId
from turnout.protocol.processing import (
    Guarantee,
    Ordering,
    ProcessingSettings,
    UnsupportedSettings,
)


@dataclass(frozen=True)
class ProcessorHandler:
    """The handler the work manager runs, and how to close what it writes through."""

    handler: Callable[[Any], object]
    #: The handler takes runs of records (the exactly-once runner always does).
    per_batch: bool
    close: Callable[[float], None]
    #: The handler commits its partitions' offsets itself (``CommitsOwnOffsets``).
    commits_offsets: bool = False
    #: Records per handler call the runner asks for instead of the work manager's batch
    #: size (a batch runner: a transaction's worth, or an acknowledgement wait's), unless
    #: the service's code chose one (``CodePolicy.work_base``); None: the manager's.
    batch_size: int | None = None
    #: Where the work manager's dead letters go instead of its own producer (None: there).
    dead_letters: DeadLetterSink | None = None
    #: Errors whose records the guarantee never lets be committed (nor dead-lettered),
    #: whatever the deployment decides: its decision is applied without the commit.
    never_committed: tuple[type[BaseException], ...] = ()
    #: Told of a partition whose release gave up waiting for its run (the drain timed
    #: out): its ownership commits nothing more.
    on_abandoned: Callable[[PartitionId], None] | None = None
    #: Told of a record a failure decision holds (``DO_NOT_COMMIT_*``) before its
    #: partition's next run: a runner that commits offsets itself must not pass it.
    on_held: Callable[[Record], None] | None = None


#: Under ``exactly_once``, errors that mean the partition is no longer this ownership's:
#: a dead letter could not commit, and the next owner processes the record again from
#: the committed offset.
OWNERSHIP_LOST: tuple[type[BaseException], ...] = (TransactionFenced, PartitionNotOwned)


def processor_handler(
    function: Callable[..., object],
    settings: ProcessingSettings,
    context: DispatchContext,
    *,
    per_batch: bool,
    bootstrap: str,
    producer_properties: Mapping[str, str | int | float | bool],
    target: OutputTarget | None = None,
    dead_letter: DeadLetterConfig | None = None,
) -> ProcessorHandler:
    """The handler for ``function`` under ``settings`` (see the module docstring).
    ``dead_letter``: the deployment's dead letters, if it has them on (under
    ``exactly_once`` the runner writes them; under ``at_least_once`` the work manager's
    own producer does)."""
    processor, close_loops = plain_processor(function)
    built = _runner_handler(
        processor, settings, context, per_batch, bootstrap, producer_properties, target,
        dead_letter,
    )  # fmt: skip
    if close_loops is None:
        return built

    def close(timeout_s: float) -> None:
        built.close(timeout_s)
        assert close_loops is not None
        close_loops()

    return replace(built, close=close)


def _runner_handler(
    processor: ProcessorFunction,
    settings: ProcessingSettings,
    context: DispatchContext,
    per_batch: bool,
    bootstrap: str,
    producer_properties: Mapping[str, str | int | float | bool],
    target: OutputTarget | None,
    dead_letter: DeadLetterConfig | None,
) -> ProcessorHandler:
    if target is not None:
        bootstrap = target.bootstrap
        producer_properties = {**target.client_properties, **target.producer_properties}
    name = f"processor.{context.instance}"
    config = ProducerConfig(
        bootstrap_servers=bootstrap,
        client_id=name,
        kafka_properties={
            key: str(value)
            for key, value in producer_properties.items()
            if key not in RESERVED_PROPERTIES
        },
    )
    if settings.guarantee == Guarantee.EXACTLY_ONCE:
        return _exactly_once(processor, settings, context, per_batch, config, target, dead_letter)
    chosen: Routes = OutputRoutes(settings.outputs) if target is None else target.routes
    if not settings.outputs and target is None:
        # Nothing may be written, so nothing connects: every emitted output is refused
        # (UnknownOutputError) before it would reach a producer.
        runner = AtLeastOnceRunner(processor, chosen, context.role, None)
        return ProcessorHandler(
            runner.handle_batch if per_batch else runner.handle, per_batch, _nothing
        )
    observer = None if target is None else target.observer
    closing: Callable[[float], object]
    if observer is None:
        registry = context.metrics.registry

        def make(producer_name: str) -> ConfirmingProducer[bytes | str, bytes | str]:
            return ConfirmingProducer(config, registry=registry, name=producer_name)

        pool = ConfirmedWrites(make, name, min(settings.workers, PREPARED_PRODUCERS))
        runner = AtLeastOnceRunner(processor, chosen, context.role, None, confirmed=pool)
        closing = pool.close
    else:
        producer: Producer[bytes | str, bytes | str] = Producer(
            config, registry=context.metrics.registry, name=name
        )
        runner = AtLeastOnceRunner(processor, chosen, context.role, producer, observer=observer)
        closing = producer.close

    def close(timeout_s: float) -> None:
        closing(timeout_s)
        if observer is not None:
            observer.flush(timeout_s)

    if not per_batch:
        return ProcessorHandler(runner.handle, False, close)
    return ProcessorHandler(runner.handle_batch, True, close, batch_size=ACKNOWLEDGED_RUN_RECORDS)


def _exactly_once(
    processor: ProcessorFunction,
    settings: ProcessingSettings,
    context: DispatchContext,
    per_batch: bool,
    config: ProducerConfig,
    target: OutputTarget | None,
    dead_letter: DeadLetterConfig | None,
) -> ProcessorHandler:
    group = context.kafka_group
    if group is None or (target is None and not group.offsets_in_kafka):
        raise UnsupportedSettings(
            "guarantee 'exactly_once' needs the agent's offsets in Kafka (offset_store kafka)"
        )
    if settings.ordering != Ordering.PARTITION:
        raise UnsupportedSettings(
            f"guarantee 'exactly_once' needs ordering 'partition', not {settings.ordering!r}: "
            "a partition's transaction covers its records in offset order"
        )
    # With an output target the positions live on its cluster, committed by the
    # transactions there; the agent still commits the source group's offsets after each
    # run, which trail them (target_positions.py).
    positions = None if target is None else TargetPositions(target, group)
    # Told of committed transactions only (the mirror's offset syncs).
    observer = None if target is None else target.observer
    bounds = TransactionBounds()
    runner = ExactlyOnceRunner(
        processor,
        per_batch=per_batch,
        routes=OutputRoutes(settings.outputs) if target is None else target.routes,
        role=context.role,
        gate=context.may_start,
        group=group if positions is None else positions.kafka_group(),
        producer_config=config,
        transaction_timeout_ms=transaction_timeout_ms(group.lease_s, 0.0),
        registry=context.metrics.registry,
        position=None if positions is None else positions.position,
        bounds=bounds,
        observer=observer,
    )
    letters: DeadLetterSink | None = None
    if dead_letter is not None:
        # An admin client is a producer handle: the producer's settings reach the cluster.
        admin = AdminClient(
            {"bootstrap.servers": config.bootstrap_servers, **config.kafka_properties}
        )
        topics = DeadLetterTopics(admin, dead_letter.create_topic)
        letters = TransactionalDeadLetters(runner, topics, dead_letter, group.group)
    handler = ProcessorHandler(
        runner.handle_batch,
        True,
        runner.close,
        # A run as large as a transaction may be, so that a partition's queued records
        # share one transaction's fixed cost (its offsets, its commit).
        batch_size=bounds.max_records,
        dead_letters=letters,
        never_committed=OWNERSHIP_LOST,
        on_abandoned=runner.abandon,
        on_held=runner.hold,
    )
    if positions is None:
        context.warm_standby.register(runner.prepare)
        return replace(handler, commits_offsets=True)

    def close(timeout_s: float) -> None:
        runner.close(timeout_s)
        positions.close()
        if observer is not None:
            observer.flush(timeout_s)

    return replace(handler, close=close)


def _nothing(timeout_s: float) -> None:
    del timeout_s
