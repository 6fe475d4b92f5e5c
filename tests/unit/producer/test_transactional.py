"""TransactionalProducer refuses settings that cannot work before it makes a client, and
the client it makes retries its coordinator calls at its own pace."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry

from turnout.producer import ProducerConfig, TransactionalProducer
from turnout.producer import producer as producer_module
from turnout.producer.transactional import (
    TRANSACTION_RETRY_BACKOFF_MAX_MS,
    TRANSACTION_RETRY_BACKOFF_MS,
)


@pytest.mark.parametrize(
    ("config", "transactional_id", "timeout_ms", "message"),
    [
        (ProducerConfig(), "", 60_000, "transactional_id must not be empty"),
        (
            ProducerConfig(enable_idempotence=False),
            "tid",
            60_000,
            "needs enable_idempotence=True",
        ),
        (ProducerConfig(), "tid", 999, "transaction_timeout_ms must be >= 1000"),
    ],
)
def test_impossible_settings_are_refused(
    config: ProducerConfig, transactional_id: str, timeout_ms: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TransactionalProducer(config, transactional_id, transaction_timeout_ms=timeout_ms)


class _Built(Exception):
    """Stops the producer's construction once librdkafka's configuration is known."""


@pytest.mark.parametrize(
    ("properties", "backoff", "backoff_max"),
    [
        ({}, TRANSACTION_RETRY_BACKOFF_MS, TRANSACTION_RETRY_BACKOFF_MAX_MS),
        ({"retry.backoff.ms": "250"}, "250", TRANSACTION_RETRY_BACKOFF_MAX_MS),
    ],
)
def test_coordinator_calls_are_retried_at_a_short_pace_unless_the_service_sets_its_own(
    monkeypatch: pytest.MonkeyPatch,
    properties: dict[str, str],
    backoff: object,
    backoff_max: object,
) -> None:
    seen: list[dict[str, Any]] = []

    def configured(config: dict[str, Any]) -> None:
        seen.append(config)
        raise _Built

    monkeypatch.setattr(producer_module, "KafkaProducer", configured)
    with pytest.raises(_Built):
        TransactionalProducer(ProducerConfig(kafka_properties=properties), "tid")
    assert seen[0]["retry.backoff.ms"] == backoff
    assert seen[0]["retry.backoff.max.ms"] == backoff_max


class _FencedClient:
    """A client failed fatally with a record still queued: it refuses the purge."""

    def __init__(self, config: dict[str, Any]) -> None:
        del config

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 1

    def purge(self, **_: bool) -> None:
        raise KafkaException(KafkaError(KafkaError._FATAL, "fenced", fatal=True))

    def close(self) -> None:
        return None

    def __len__(self) -> int:
        return 1


def test_a_closed_producer_frees_its_name_even_when_its_client_refuses_the_purge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(producer_module, "KafkaProducer", _FencedClient)
    registry = CollectorRegistry()
    fenced = TransactionalProducer(ProducerConfig(), "tid", registry=registry, name="p.0")
    fenced.close(0.1)
    # A producer made to take the transactional id over reports under the same name.
    TransactionalProducer(ProducerConfig(), "tid", registry=registry, name="p.0").close(0.1)
