"""What a processor's handler asks of the work manager (no Kafka: the exactly-once
runner's producers are made only by runs and a standby's preparation, and the
at-least-once runner's producer connects only when it sends)."""

from __future__ import annotations

from typing import Any, cast

from turnout.agent import DispatchContext, Output, Outputs, Record
from turnout.agent.dispatch import KafkaGroup
from turnout.agent.metrics import AgentMetrics
from turnout.agent.processors.at_least_once import ACKNOWLEDGED_RUN_RECORDS
from turnout.agent.processors.building import processor_handler
from turnout.agent.processors.transactions import MAX_TRANSACTION_RECORDS
from turnout.protocol import ProcessingSettings


def enrich(record: Record, out: Outputs) -> Output:
    return Output("enriched", record.value)


def test_an_exactly_once_run_may_carry_a_whole_transaction() -> None:
    settings = ProcessingSettings.model_validate(
        {
            "guarantee": "exactly_once",
            "outputs": {"enriched": {"live": "out", "preview": "out.pv"}},
        }
    )
    group = KafkaGroup(
        deployment="dep",
        group=lambda: "g",
        metadata=lambda: "group-metadata",
        committed=lambda tp: None,
        lease_s=9.0,
        offsets_in_kafka=True,
    )
    context = DispatchContext(
        cast(Any, enrich), lambda tp: True, "i", AgentMetrics("d", "i"), kafka_group=group
    )
    built = processor_handler(
        enrich, settings, context, per_batch=False, bootstrap="", producer_properties={}
    )
    try:
        # Larger than the work manager's default batch: queued records share a commit.
        assert built.batch_size == MAX_TRANSACTION_RECORDS
        assert built.per_batch and built.commits_offsets
    finally:
        built.close(1.0)


def test_an_at_least_once_batch_processor_asks_for_runs_an_acknowledgement_wait_can_carry() -> None:
    settings = ProcessingSettings.model_validate(
        {"outputs": {"enriched": {"live": "out", "preview": "out.pv"}}}
    )
    context = DispatchContext(cast(Any, enrich), lambda tp: True, "i", AgentMetrics("d", "i"))
    # The producer connects lazily: nothing listens on the discard port, nothing is sent.
    for per_batch, asked in ((True, ACKNOWLEDGED_RUN_RECORDS), (False, None)):
        built = processor_handler(
            enrich,
            settings,
            context,
            per_batch=per_batch,
            bootstrap="127.0.0.1:9",
            producer_properties={},
        )
        try:
            assert built.batch_size == asked
            assert built.per_batch is per_batch and not built.commits_offsets
        finally:
            built.close(1.0)
