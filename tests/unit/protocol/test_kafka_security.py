"""KafkaSecurity: what it accepts, what it hands confluent-kafka, and that its secret never
shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from turnout.protocol.kafka_security import KafkaSecurity, load_kafka_security


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("not parsed here\n")
    return path


def test_the_default_is_plaintext() -> None:
    security = KafkaSecurity()
    assert security.client_config() == {"security.protocol": "PLAINTEXT"}
    assert security.describe() == "PLAINTEXT, anonymous"


def test_sasl_ssl_gives_scram_credentials_the_authority_and_hostname_checks(
    ca_file: Path,
) -> None:
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        username="client",
        password=SecretStr("s3cret"),
        ca_file=ca_file,
    )
    assert security.client_config() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "client",
        "sasl.password": "s3cret",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(ca_file),
    }
    assert security.describe() == "SASL_SSL, SCRAM-SHA-512 as 'client'"


def test_without_an_authority_file_the_system_trust_store_is_used() -> None:
    security = KafkaSecurity(
        security_protocol="SASL_SSL", username="client", password=SecretStr("x")
    )
    assert "ssl.ca.location" not in security.client_config()


def test_a_password_file_is_read_again_for_each_client(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("first\n")
    security = KafkaSecurity(
        security_protocol="SASL_SSL", username="client", password_file=password_file
    )
    assert security.client_config()["sasl.password"] == "first"
    password_file.write_text("rotated\n")
    assert security.client_config()["sasl.password"] == "rotated"


def test_the_password_never_shows_in_a_repr_or_a_description() -> None:
    security = KafkaSecurity(
        security_protocol="SASL_SSL", username="client", password=SecretStr("s3cret")
    )
    assert "s3cret" not in repr(security)
    assert "s3cret" not in str(security)
    assert "s3cret" not in security.describe()
    assert "s3cret" not in security.model_dump_json()


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"security_protocol": "SASL_SSL", "password": "x"}, "needs a username"),
        ({"security_protocol": "SASL_SSL", "username": "u"}, "exactly one of password"),
        ({"username": "u", "password": "x"}, "need security_protocol=SASL_SSL"),
        (
            {"security_protocol": "SASL_SSL", "username": "u", "password_file": "/nonexistent"},
            "is not a file",
        ),
        ({"security_protocol": "SASL_PLAINTEXT"}, "Input should be"),
        ({"sasl_mechanism": "PLAIN"}, "Input should be"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_reason(
    fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KafkaSecurity.model_validate(fields)


def test_settings_come_from_an_env_file_and_the_environment_wins(
    tmp_path: Path, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "client.env"
    env_file.write_text(
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
        "TURNOUT_KAFKA_USERNAME=from-file\n"
        "TURNOUT_KAFKA_PASSWORD=s3cret\n"
        f"TURNOUT_KAFKA_CA_FILE={ca_file}\n"
    )
    monkeypatch.setenv("TURNOUT_KAFKA_USERNAME", "from-env")
    security = load_kafka_security(env_file)
    assert security.client_config()["sasl.username"] == "from-env"
    assert security.client_config()["sasl.password"] == "s3cret"
    assert security.ca_file == ca_file


def test_without_settings_a_client_is_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY_PROTOCOL", "USERNAME", "PASSWORD", "PASSWORD_FILE", "CA_FILE"):
        monkeypatch.delenv(f"TURNOUT_KAFKA_{name}", raising=False)
    assert load_kafka_security() == KafkaSecurity()
