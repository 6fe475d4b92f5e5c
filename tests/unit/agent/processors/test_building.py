"""What the exactly-once processor's handler asks of the work manager (no Kafka: its
transactional producers are made only by runs and a standby's preparation)."""

from __future__ import annotations

from typing import Any, cast

from turnout.agent import DispatchContext, Output, Outputs, Record
from turnout.agent.dispatch import KafkaGroup
from turnout.agent.metrics import AgentMetrics
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
