"""A deployment's processing settings (``turnout.protocol.processing``) as the work manager
runs them: the one mapping from the wire's settings to ``WorkConfig``, the failure and
escalation decisions and the commit batching, and a dispatcher factory built from it.

What the deployment decides and what the service's code keeps:

- the deployment (the directive's ``processing``): ordering, workers, in-flight bounds,
  retries, the decision for exhausted records, escalation, dead letters, commit batching;
- the code (``CodePolicy``): the handler (per record or per batch, plain or coroutine),
  and, where the service author wants it, a failure decision per exception type that the
  deployment's ``on_exhausted`` cannot override (``failure_decisions``: the most specific
  type in the error's MRO wins; other errors get the deployment's decision).

``plan_from_settings`` is pure; ``settings_dispatcher_factory`` builds managers (and their
dead-letter producers) only when the agent calls the factory it returns.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from turnout.agent.dispatch import DispatchContext, Dispatcher, DispatcherFactory
from turnout.agent.records import Record
from turnout.agent.sequential import SequentialDispatcher
from turnout.agent.work.config import DeadLetterConfig, WorkConfig
from turnout.agent.work.dead_letters import DeadLetterProducer, DeadLetterSink
from turnout.agent.work.factory import work_manager_factory
from turnout.agent.work.outcomes import (
    Escalation,
    EscalationAction,
    EscalationCallback,
    FailedDecision,
    Failure,
    FailureCallback,
)
from turnout.protocol.partitions import PartitionId
from turnout.protocol.processing import (
    ProcessingSettings,
    exhausted_decision_value,
    validate_processing,
)

if TYPE_CHECKING:
    # Only a type here: the processors build on the work package, which loads first.
    from turnout.agent.processors.output_target import OutputTarget

#: Milliseconds on the wire, seconds in ``WorkConfig``.
_MS = 1000.0

ProducerConfig = Mapping[str, str | int | float | bool]


@dataclass(frozen=True)
class ProcessingPlan:
    """Everything one settings version asks of an agent, in the agent's own terms."""

    version: int
    work: WorkConfig
    #: For records whose retries are used up (or that failed permanently).
    on_exhausted: FailedDecision
    #: When ``escalation.threshold`` records exhaust within the window.
    on_escalation: EscalationAction
    #: Whether exhausted records that are committed go to a dead-letter topic first.
    dead_letters: bool
    commit_interval_s: float
    commit_every: int


def plan_from_settings(
    settings: ProcessingSettings, base: WorkConfig | None = None
) -> ProcessingPlan:
    """The plan for ``settings``; ``base`` supplies what the wire does not carry (run and
    batch sizes, the lookahead, the commit-metadata budget). Raises
    ``UnsupportedSettings`` (``validate_processing``) for a value this agent does not know."""
    validate_processing(settings)
    base = base or WorkConfig()
    retries = settings.retries
    escalation = settings.escalation
    letters = settings.dead_letters
    work = WorkConfig.model_validate(
        base.model_dump()
        | {
            "ordering": settings.ordering,
            "workers": settings.workers,
            "max_in_flight": settings.max_in_flight_records,
            "max_in_flight_bytes": settings.max_in_flight_bytes,
            "max_in_flight_per_partition": settings.max_in_flight_per_partition,
            "max_uncommitted_per_partition": max(
                base.max_uncommitted_per_partition, settings.max_in_flight_per_partition
            ),
            "max_retries": retries.max_retries,
            "backoff": retries.backoff_ms / _MS,
            "backoff_multiplier": retries.multiplier,
            "backoff_max": retries.max_backoff_ms / _MS,
            "backoff_jitter": retries.jitter_ms / _MS,
            "task_timeout": retries.attempt_timeout_ms / _MS,
            "retry_threshold": escalation.threshold,
            "retry_window": escalation.window_ms / _MS,
            "breaker_cooldown": escalation.breaker_cooldown_ms / _MS,
            "dead_letter": DeadLetterConfig(
                topic=letters.topic,
                create_topic=letters.create_topic,
                max_ratio=letters.max_ratio,
                ratio_window=letters.ratio_window_ms / _MS,
                min_samples=letters.min_samples,
                max_consecutive=letters.max_consecutive,
                max_error_message_bytes=base.dead_letter.max_error_message_bytes,
            ),
        }
    )
    return ProcessingPlan(
        version=settings.version,
        work=work,
        on_exhausted=FailedDecision[exhausted_decision_value(settings).upper()],
        on_escalation=EscalationAction(escalation.action),
        dead_letters=letters.enabled,
        commit_interval_s=settings.commit_interval_ms / _MS,
        commit_every=settings.commit_every,
    )


@dataclass(frozen=True)
class CodePolicy:
    """What the service's code fixes whatever the deployment's settings say."""

    #: The handler takes batches (a read-only sequence of consecutive records of one
    #: lane) instead of one record: the agent's handler is then called with batches.
    batch: bool = False
    #: A decision per exception type for exhausted records, which the deployment's
    #: ``on_exhausted`` cannot override (the most specific type in the error's MRO wins).
    failure_decisions: Mapping[type[BaseException], FailedDecision] = field(default_factory=dict)
    #: Extra librdkafka properties of the dead-letter producer and a processor's output
    #: producer (security, say).
    producer_config: ProducerConfig | None = None
    #: The handler is a processor (docs/processors.md): called with ``(record, out)``, its
    #: outputs written to the deployment's output topics with its guarantee.
    processor: bool = False
    #: Where the processor's outputs go instead of the deployment's ``outputs`` map:
    #: another cluster and its routes (the mirror's target); None: the agent's cluster.
    output_target: OutputTarget | None = None
    #: What the deployment's settings do not carry (run and batch sizes, say); None:
    #: ``WorkConfig``'s defaults. A ``batch_size`` set here also wins over the run size a
    #: processor's runner asks for (``ProcessorHandler.batch_size``).
    work_base: WorkConfig | None = None


def sized_for_runner(
    work: WorkConfig, runner_batch_size: int | None, code: CodePolicy
) -> WorkConfig:
    """``work`` with the batch size a processor's runner asks for (None: it asks for
    none), unless the service's code set ``batch_size`` itself in ``work_base``."""
    base = code.work_base
    if runner_batch_size is None or (base is not None and "batch_size" in base.model_fields_set):
        return work
    return work.model_copy(update={"batch_size": runner_batch_size})


def telling_holds(decide: FailureCallback, on_held: Callable[[Record], None]) -> FailureCallback:
    """``decide``, telling ``on_held`` of each record it keeps uncommitted: the work
    manager asks for a decision before it applies it and before the record's lane runs
    again, so a handler that commits its own offsets learns of the hold in time."""

    def deciding(failure: Failure) -> FailedDecision:
        decision = decide(failure)
        if not decision.commits:
            on_held(failure.record)
        return decision

    return deciding


def failure_callback(
    deployment: FailedDecision, overrides: Mapping[type[BaseException], FailedDecision]
) -> FailureCallback:
    """``on_failure`` for the work manager: the code's decision for the error's type if it
    has one, else the deployment's."""

    def decide(failure: Failure) -> FailedDecision:
        for kind in type(failure.error).__mro__:
            decision = overrides.get(kind)
            if decision is not None:
                return decision
        return deployment

    return decide


def escalation_callback(action: EscalationAction) -> EscalationCallback:
    def escalate(escalation: Escalation) -> EscalationAction:
        del escalation
        return action

    return escalate


def settings_dispatcher_factory(
    settings: ProcessingSettings,
    code: CodePolicy,
    *,
    bootstrap: str,
    group: str,
    base: WorkConfig | None = None,
) -> tuple[ProcessingPlan, DispatcherFactory]:
    """The plan for ``settings`` and a factory of work managers running it (raises
    ``UnsupportedSettings`` like ``plan_from_settings``). ``group`` names the consumer
    group in the dead letters' headers."""
    plan = plan_from_settings(settings, base)
    dead_letters: Callable[[], DeadLetterSink] | None = None
    if plan.dead_letters:

        def dead_letters() -> DeadLetterSink:
            return DeadLetterProducer.from_config(
                bootstrap, group, plan.work.dead_letter, code.producer_config
            )

    on_failure = failure_callback(plan.on_exhausted, code.failure_decisions)
    on_escalation = escalation_callback(plan.on_escalation)

    def build(context: DispatchContext) -> Dispatcher:
        handler: Callable[[Any], object] = context.handler
        per_batch = code.batch
        on_closed: Callable[[float], None] | None = None
        commits_offsets = False
        work = plan.work
        on_abandoned: Callable[[PartitionId], None] | None = None
        letters = dead_letters
        deciding = on_failure
        if code.processor:
            # Imported here: the processors build on the work manager's outcomes, so the
            # work package cannot import them while it loads.
            from turnout.agent.processors.building import processor_handler

            built = processor_handler(
                handler,
                settings,
                context,
                per_batch=code.batch,
                bootstrap=bootstrap,
                producer_properties=code.producer_config or {},
                target=code.output_target,
                dead_letter=plan.work.dead_letter if plan.dead_letters else None,
            )
            handler, per_batch = built.handler, built.per_batch
            on_closed, commits_offsets = built.close, built.commits_offsets
            work = sized_for_runner(work, built.batch_size, code)
            on_abandoned = built.on_abandoned
            sink = built.dead_letters
            if sink is not None:
                letters = lambda: sink  # noqa: E731
            if built.never_committed:
                held = dict.fromkeys(built.never_committed, plan.on_exhausted.held)
                deciding = failure_callback(plan.on_exhausted, {**held, **code.failure_decisions})
            if built.on_held is not None:
                deciding = telling_holds(deciding, built.on_held)
        return work_manager_factory(
            work,
            handler=None if per_batch else handler,
            batch_handler=handler if per_batch else None,
            on_failure=deciding,
            on_escalation=on_escalation,
            dead_letters=letters,
            on_closed=on_closed,
            commits_offsets=commits_offsets,
            on_abandoned=on_abandoned,
        )(context)

    return plan, build


def code_dispatcher_factory(handler: object, code: CodePolicy) -> DispatcherFactory:
    """The dispatcher an agent runs while no deployment settings apply and its code gave
    none: the sequential one for a plain per-record function; the work manager at its
    defaults for a batch or coroutine handler, which the sequential one cannot run."""
    if not code.batch and not code.processor and not inspect.iscoroutinefunction(handler):
        return SequentialDispatcher.factory
    return settings_dispatcher_factory(ProcessingSettings(), code, bootstrap="", group="")[1]


#: librdkafka properties of the agent's consumer that its dead-letter producer shares: how
#: to reach and authenticate to the cluster.
_CONNECTION_PREFIXES = ("security.", "sasl.", "ssl.", "client.")


def settings_builder(
    code: CodePolicy, bootstrap: str, kafka_properties: Mapping[str, str]
) -> Callable[[ProcessingSettings, str], tuple[ProcessingPlan, DispatcherFactory]]:
    """Plans and dispatcher factories for an agent reaching Kafka at ``bootstrap`` with
    ``kafka_properties`` (its dead-letter producer connects the same way)."""
    connection = {
        key: value
        for key, value in kafka_properties.items()
        if key.startswith(_CONNECTION_PREFIXES)
    }
    producer_config = {**connection, **(code.producer_config or {})}
    with_connection = replace(code, producer_config=producer_config or None)

    def build(settings: ProcessingSettings, group: str) -> tuple[ProcessingPlan, DispatcherFactory]:
        return settings_dispatcher_factory(
            settings, with_connection, bootstrap=bootstrap, group=group, base=code.work_base
        )

    return build
