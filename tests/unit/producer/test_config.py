"""ProducerConfig: defaults, the environment, validation, and librdkafka's view of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from turnout.producer import ProducerConfig, QueueFullPolicy


def test_idempotence_and_full_acknowledgement_are_the_default() -> None:
    settings = ProducerConfig().librdkafka_config()
    assert settings["enable.idempotence"] is True
    assert settings["acks"] == "all"


def test_fields_map_to_librdkafka_properties() -> None:
    config = ProducerConfig(
        bootstrap_servers="k1:9092,k2:9092",
        client_id="orders",
        linger_ms=20,
        queue_max_messages=500,
        queue_max_kbytes=1024,
        delivery_timeout_ms=60_000,
        kafka_properties={"compression.type": "lz4"},
    )
    assert config.librdkafka_config() == {
        "security.protocol": "PLAINTEXT",
        "bootstrap.servers": "k1:9092,k2:9092",
        "client.id": "orders",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20.0,
        "queue.buffering.max.messages": 500,
        "queue.buffering.max.kbytes": 1024,
        "message.timeout.ms": 60_000,
        "compression.type": "lz4",
    }


def test_settings_come_from_turnout_producer_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNOUT_PRODUCER_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("TURNOUT_PRODUCER_QUEUE_FULL", "raise")
    monkeypatch.setenv("TURNOUT_PRODUCER_QUEUE_FULL_TIMEOUT_S", "2.5")
    monkeypatch.setenv("TURNOUT_PRODUCER_KAFKA_PROPERTIES", '{"compression.type": "zstd"}')
    config = ProducerConfig()
    assert config.bootstrap_servers == "kafka:9092"
    assert config.queue_full is QueueFullPolicy.RAISE
    assert config.queue_full_timeout_s == 2.5
    assert config.kafka_properties == {"compression.type": "zstd"}


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNOUT_PRODUCER_CLIENT_ID", "from-env")
    assert ProducerConfig(client_id="from-argument").client_id == "from-argument"


def test_passthrough_values_become_librdkafka_text() -> None:
    config = ProducerConfig.model_validate(
        {"kafka_properties": {"batch.size": 65536, "socket.nagle.disable": True}}
    )
    assert config.kafka_properties == {"batch.size": "65536", "socket.nagle.disable": "true"}


def test_idempotence_refuses_weaker_acknowledgements() -> None:
    with pytest.raises(ValidationError, match="enable_idempotence needs acks='all'"):
        ProducerConfig(acks="1")
    assert ProducerConfig(acks="1", enable_idempotence=False).acks == "1"


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("bootstrap.servers", "bootstrap_servers"),
        ("enable.idempotence", "enable_idempotence"),
        ("queue.buffering.max.messages", "queue_max_messages"),
        ("transactional.id", "transactional_id"),
        ("delivery.report.only.error", "failure_reports_only"),
    ],
)
def test_passthrough_may_not_set_what_the_producer_owns(key: str, instead: str) -> None:
    with pytest.raises(ValidationError, match=instead):
        ProducerConfig(kafka_properties={key: "x"})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ProducerConfig(lingr_ms=5)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "field",
    [
        {"queue_full_timeout_s": 0},
        {"queue_max_messages": 0},
        {"linger_ms": -1},
        {"latency_sample_every": 0},
    ],
)
def test_bounds_are_checked(field: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        ProducerConfig(**field)  # type: ignore[arg-type]


def test_the_security_env_file_reaches_the_librdkafka_config(tmp_path: Path) -> None:
    password = tmp_path / "kafka.password"
    password.write_text("s3cret\n")
    env_file = tmp_path / "client.env"
    env_file.write_text(
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
        "TURNOUT_KAFKA_USERNAME=client\n"
        f"TURNOUT_KAFKA_PASSWORD_FILE={password}\n"
    )
    config = ProducerConfig(security_env_file=env_file)
    librdkafka = config.librdkafka_config()
    assert librdkafka["security.protocol"] == "SASL_SSL"
    assert (librdkafka["sasl.username"], librdkafka["sasl.password"]) == ("client", "s3cret")
    assert "s3cret" not in repr(config)
