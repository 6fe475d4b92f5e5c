"""TransactionalProducer refuses settings that cannot work before it makes a client."""

from __future__ import annotations

import pytest

from turnout.producer import ProducerConfig, TransactionalProducer


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
