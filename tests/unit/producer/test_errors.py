"""classify: which ProducerError a librdkafka error becomes."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from turnout.producer import (
    FatalProducerError,
    PermanentProducerError,
    ProducerFencedError,
    RetriableProducerError,
    TransactionAbortRequiredError,
)
from turnout.producer.errors import KafkaProducerError, classify


@pytest.mark.parametrize(
    "code", [KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH]
)
def test_fencing_is_a_fatal_error_of_its_own(code: int) -> None:
    error = classify(KafkaError(code))
    assert isinstance(error, ProducerFencedError)
    assert isinstance(error, FatalProducerError)


def test_librdkafkas_fatal_flag_makes_a_fatal_error() -> None:
    failed = classify(KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, fatal=True))
    assert type(failed) is FatalProducerError
    assert type(classify(KafkaError(KafkaError._FATAL))) is FatalProducerError


def test_an_abortable_transaction_error_says_so() -> None:
    error = KafkaError(KafkaError._STATE, txn_requires_abort=True, retriable=True)
    assert type(classify(error)) is TransactionAbortRequiredError


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError._MSG_TIMED_OUT),
        KafkaError(KafkaError.NOT_ENOUGH_REPLICAS),
        KafkaError(KafkaError._UNKNOWN_PARTITION, retriable=True),
    ],
)
def test_transient_failures_are_retriable(error: KafkaError) -> None:
    assert type(classify(error)) is RetriableProducerError


@pytest.mark.parametrize(
    "code",
    [KafkaError._UNKNOWN_PARTITION, KafkaError._UNKNOWN_TOPIC, KafkaError.MSG_SIZE_TOO_LARGE],
)
def test_what_no_retry_can_fix_is_permanent(code: int) -> None:
    assert type(classify(KafkaError(code))) is PermanentProducerError


def test_the_error_names_the_destination_and_keeps_librdkafkas_error() -> None:
    cause = KafkaError(KafkaError._UNKNOWN_PARTITION, "no such partition")
    error = classify(cause, topic="orders", partition=9)
    assert str(error) == "orders[9]: no such partition (_UNKNOWN_PARTITION)"
    assert isinstance(error, KafkaProducerError)
    assert error.kafka_error is cause
    assert (error.topic, error.partition, error.code) == ("orders", 9, cause.code())
