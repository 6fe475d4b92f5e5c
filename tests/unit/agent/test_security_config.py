"""The agent's security settings: from the environment and an env file, never a flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout.agent.cli import BadInput, build_config
from turnout.agent.config import AgentConfig

REQUIRED = {"deployment": "billing", "colour": "blue", "instance": "billing-1"}


def _env_file(tmp_path: Path) -> Path:
    password = tmp_path / "kafka.password"
    password.write_text("s3cret\n")
    zk_password = tmp_path / "zk.password"
    zk_password.write_text("zk-s3cret\n")
    path = tmp_path / "client.env"
    path.write_text(
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
        "TURNOUT_KAFKA_USERNAME=client\n"
        f"TURNOUT_KAFKA_PASSWORD_FILE={password}\n"
        "TURNOUT_ZOOKEEPER_AUTH=sasl\n"
        "TURNOUT_ZOOKEEPER_USERNAME=client\n"
        f"TURNOUT_ZOOKEEPER_PASSWORD_FILE={zk_password}\n"
    )
    return path


def test_without_security_settings_every_client_is_plaintext_and_anonymous() -> None:
    config = AgentConfig(**REQUIRED)  # type: ignore[arg-type]
    assert config.kafka_client_properties == {"security.protocol": "PLAINTEXT"}
    assert not config.zookeeper_security.secured


def test_the_security_env_file_reaches_every_kafka_client_and_the_zookeeper_session(
    tmp_path: Path,
) -> None:
    config = AgentConfig(
        **REQUIRED,  # type: ignore[arg-type]
        security_env_file=_env_file(tmp_path),
        kafka_properties={"fetch.wait.max.ms": "50"},
    )
    properties = config.kafka_client_properties
    assert properties["security.protocol"] == "SASL_SSL"
    assert properties["sasl.username"] == "client"
    assert properties["sasl.password"] == "s3cret"
    assert properties["fetch.wait.max.ms"] == "50"
    assert config.zookeeper_security.acl_identity() == ("sasl", "client")
    assert "s3cret" not in repr(config)


def test_the_environment_wins_over_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNOUT_KAFKA_USERNAME", "other")
    monkeypatch.setenv("TURNOUT_AGENT_SECURITY_ENV_FILE", str(_env_file(tmp_path)))
    config = AgentConfig(**REQUIRED)  # type: ignore[arg-type]
    assert config.kafka_security.username == "other"
    assert config.zookeeper_security.username == "client"


def test_a_secret_cannot_be_given_as_a_kafka_property() -> None:
    with pytest.raises(BadInput, match=r"sasl\.password.*are secrets"):
        build_config(**REQUIRED, kafka_properties={"sasl.password": "on-the-command-line"})


def test_a_missing_security_env_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"security_env_file .* is not a file"):
        build_config(**REQUIRED, security_env_file=tmp_path / "absent.env")
