"""A deployment's processing settings as the work manager runs them: the one mapping."""

from __future__ import annotations

import pytest

from tests.unit.agent.work.support import record
from turnout.agent.work import FailedDecision, Failure, Ordering, PermanentFailure, WorkConfig
from turnout.agent.work.deployment import (
    CodePolicy,
    failure_callback,
    plan_from_settings,
    settings_builder,
    sized_for_runner,
    telling_holds,
)
from turnout.agent.work.outcomes import EscalationAction
from turnout.protocol.processing import (
    DeadLetterSettings,
    EscalationSettings,
    ProcessingSettings,
    RetrySettings,
    UnsupportedSettings,
)


def test_every_wire_setting_lands_in_the_work_config_in_seconds() -> None:
    settings = ProcessingSettings(
        version=7,
        ordering="key",
        workers=32,
        max_in_flight_records=5000,
        max_in_flight_bytes=64 * 1024 * 1024,
        max_in_flight_per_partition=1000,
        retries=RetrySettings(
            max_retries=5,
            backoff_ms=250,
            multiplier=3.0,
            max_backoff_ms=4000,
            jitter_ms=20,
            attempt_timeout_ms=1500,
        ),
        escalation=EscalationSettings(
            threshold=9, window_ms=2000, action="stop", breaker_cooldown_ms=3000
        ),
        dead_letters=DeadLetterSettings(
            enabled=True,
            topic="{topic}-dead",
            create_topic=False,
            max_ratio=0.5,
            ratio_window_ms=7000,
            min_samples=3,
            max_consecutive=4,
        ),
        commit_interval_ms=250,
        commit_every=123,
    )
    plan = plan_from_settings(settings)
    work = plan.work
    assert plan.version == 7
    assert (work.ordering, work.workers) == (Ordering.KEY, 32)
    assert (work.max_in_flight, work.max_in_flight_bytes) == (5000, 64 * 1024 * 1024)
    assert work.max_in_flight_per_partition == 1000
    assert (work.max_retries, work.backoff, work.backoff_multiplier) == (5, 0.25, 3.0)
    assert (work.backoff_max, work.backoff_jitter, work.task_timeout) == (4.0, 0.02, 1.5)
    assert (work.retry_threshold, work.retry_window, work.breaker_cooldown) == (9, 2.0, 3.0)
    letters = work.dead_letter
    assert (letters.topic, letters.create_topic, letters.max_ratio) == ("{topic}-dead", False, 0.5)
    assert (letters.ratio_window, letters.min_samples, letters.max_consecutive) == (7.0, 3, 4)
    assert plan.dead_letters
    assert plan.on_exhausted is FailedDecision.COMMIT_AND_CONTINUE  # the default with a DLQ
    assert plan.on_escalation is EscalationAction.STOP
    assert (plan.commit_interval_s, plan.commit_every) == (0.25, 123)


def test_what_the_wire_does_not_carry_comes_from_the_base() -> None:
    base = WorkConfig(run_size=50, batch_size=20, max_ahead=99)
    work = plan_from_settings(ProcessingSettings(), base).work
    assert (work.run_size, work.batch_size, work.max_ahead) == (50, 20, 99)


def test_without_dead_letters_exhausted_records_hold_and_stop_by_default() -> None:
    plan = plan_from_settings(ProcessingSettings())
    assert plan.on_exhausted is FailedDecision.DO_NOT_COMMIT_AND_STOP
    assert not plan.dead_letters
    explicit = plan_from_settings(ProcessingSettings(on_exhausted="do_not_commit_and_continue"))
    assert explicit.on_exhausted is FailedDecision.DO_NOT_COMMIT_AND_CONTINUE


def test_a_per_partition_bound_past_the_default_span_widens_the_span() -> None:
    settings = ProcessingSettings(max_in_flight_records=200_000, max_in_flight_per_partition=80_000)
    assert plan_from_settings(settings).work.max_uncommitted_per_partition == 80_000


@pytest.mark.parametrize(
    ("field", "value"),
    [("ordering", "by-colour"), ("on_exhausted", "shrug"), ("escalation", {"action": "panic"})],
)
def test_a_value_this_agent_does_not_know_is_refused_whole(field: str, value: object) -> None:
    settings = ProcessingSettings.model_validate({field: value})
    with pytest.raises(UnsupportedSettings):
        plan_from_settings(settings)


class Throttled(Exception):
    pass


class HardThrottled(Throttled):
    pass


def failure(error: BaseException) -> Failure:
    return Failure(record(1), error, attempts=4, permanent=False)


def test_the_codes_decision_per_exception_type_wins_over_the_deployments() -> None:
    decide = failure_callback(
        FailedDecision.COMMIT_AND_CONTINUE,
        {
            Throttled: FailedDecision.DO_NOT_COMMIT_AND_STOP,
            PermanentFailure: FailedDecision.COMMIT_AND_STOP,
        },
    )
    assert decide(failure(HardThrottled())) is FailedDecision.DO_NOT_COMMIT_AND_STOP
    assert decide(failure(PermanentFailure())) is FailedDecision.COMMIT_AND_STOP
    assert decide(failure(ValueError())) is FailedDecision.COMMIT_AND_CONTINUE


def test_a_decision_that_keeps_a_record_uncommitted_is_told_to_the_handler_first() -> None:
    held: list[int] = []
    decide = telling_holds(
        failure_callback(
            FailedDecision.COMMIT_AND_CONTINUE,
            {Throttled: FailedDecision.DO_NOT_COMMIT_AND_CONTINUE},
        ),
        lambda record: held.append(record.offset),
    )
    assert decide(failure(ValueError())) is FailedDecision.COMMIT_AND_CONTINUE
    assert held == []
    assert decide(failure(Throttled())) is FailedDecision.DO_NOT_COMMIT_AND_CONTINUE
    assert held == [1]


@pytest.mark.parametrize(
    ("decision", "held"),
    [
        (FailedDecision.COMMIT_AND_CONTINUE, FailedDecision.DO_NOT_COMMIT_AND_CONTINUE),
        (FailedDecision.COMMIT_AND_STOP, FailedDecision.DO_NOT_COMMIT_AND_STOP),
        (FailedDecision.DO_NOT_COMMIT_AND_CONTINUE, FailedDecision.DO_NOT_COMMIT_AND_CONTINUE),
        (FailedDecision.DO_NOT_COMMIT_AND_STOP, FailedDecision.DO_NOT_COMMIT_AND_STOP),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_a_held_decision_keeps_whether_it_stops_and_never_commits(
    decision: FailedDecision, held: FailedDecision
) -> None:
    assert decision.held is held
    assert not held.commits and held.stops == decision.stops


def test_the_codes_work_base_sizes_the_batches_whatever_the_settings() -> None:
    code = CodePolicy(batch=True, work_base=WorkConfig(batch_size=5000))
    plan, _ = settings_builder(code, "127.0.0.1:9092", {})(ProcessingSettings(workers=3), "g")
    assert plan.work.batch_size == 5000
    assert plan.work.workers == 3


def test_a_runners_batch_size_replaces_the_default_but_not_the_codes_own() -> None:
    default = WorkConfig()
    assert sized_for_runner(default, 5000, CodePolicy(batch=True)).batch_size == 5000
    assert sized_for_runner(default, None, CodePolicy(batch=True)).batch_size == 500
    chosen = CodePolicy(batch=True, work_base=WorkConfig(batch_size=300))
    assert sized_for_runner(WorkConfig(batch_size=300), 5000, chosen).batch_size == 300
    # A work_base that leaves batch_size at its default does not choose it.
    unchosen = CodePolicy(batch=True, work_base=WorkConfig(workers=2))
    assert sized_for_runner(default, 5000, unchosen).batch_size == 5000
