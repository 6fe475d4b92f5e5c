"""How a client reaches a secured Kafka: the confluent-kafka settings of its listener.

Kept beside the protocol because both sides need it and may import only the protocol
and the gateway: the agent's consumers and the control plane's admin clients connect
to the same clusters the same way.

``KafkaSecurity.client_config()`` is merged into any confluent-kafka configuration;
``load_kafka_security`` reads ``KafkaSecurity`` from ``TURNOUT_KAFKA_*`` environment
variables, or from an env file of the same lines, never from a command line (``ps``
shows those to every user):

    TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL   PLAINTEXT (the default) | SASL_SSL
    TURNOUT_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 SCRAM-SHA-512 (the default) | SCRAM-SHA-256
    TURNOUT_KAFKA_USERNAME=client
    TURNOUT_KAFKA_PASSWORD_FILE=path           the password, alone in a file (or, less
                                               safely, TURNOUT_KAFKA_PASSWORD)
    TURNOUT_KAFKA_CA_FILE=ca.pem               authorities to trust (default: the system's)
    TURNOUT_KAFKA_CHECK_HOSTNAME=true          the broker's certificate must name its host

The password is a ``SecretStr``: it never shows in a repr or a log line. The dict
``client_config()`` returns does hold it, as librdkafka needs it: hand it to a client,
never log it. A password file is read each time ``client_config()`` is called, so a
rotated file is picked up by the next client built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

KafkaSecurityProtocol = Literal["PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]


class KafkaSecurity(BaseModel):
    """Transport and identity of a Kafka client; the default is plaintext and anonymous."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    sasl_mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    check_hostname: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        for name in ("ca_file", "password_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} is not a file")
        credentials = (self.username, self.password, self.password_file, self.ca_file)
        if self.security_protocol == "PLAINTEXT":
            if any(value is not None for value in credentials):
                raise ValueError("credentials and ca_file need security_protocol=SASL_SSL")
            return self
        if not self.username:
            raise ValueError("SASL_SSL needs a username")
        if (self.password is None) == (self.password_file is None):
            raise ValueError("SASL_SSL needs exactly one of password, password_file")
        return self

    def secret(self) -> str:
        """The password (read from its file if it has one); "" without SASL."""
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return self.password.get_secret_value() if self.password is not None else ""

    def client_config(self) -> dict[str, str]:
        """confluent-kafka settings for this listener (holds the password: never log it)."""
        if self.security_protocol == "PLAINTEXT":
            return {"security.protocol": "PLAINTEXT"}
        config = {
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.username or "",
            "sasl.password": self.secret(),
            "ssl.endpoint.identification.algorithm": "https" if self.check_hostname else "none",
        }
        if self.ca_file is not None:
            config["ssl.ca.location"] = str(self.ca_file)
        return config

    def describe(self) -> str:
        """One line for logs and errors: what is used, never the secret."""
        if self.security_protocol == "PLAINTEXT":
            return "PLAINTEXT, anonymous"
        return f"{self.security_protocol}, {self.sasl_mechanism} as {self.username!r}"


class KafkaSecuritySettings(BaseSettings, KafkaSecurity):
    """``KafkaSecurity`` read from ``TURNOUT_KAFKA_*`` variables (see the module doc)."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_KAFKA_", extra="ignore", frozen=True)


class _FileOnlyKafkaSecuritySettings(KafkaSecuritySettings):
    """``KafkaSecuritySettings`` from its env file alone: the process's ``TURNOUT_KAFKA_*``
    variables describe another cluster (an agent's own)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, dotenv_settings)


def load_kafka_security_file(env_file: Path) -> KafkaSecurity:
    """``KafkaSecurity`` from the ``TURNOUT_KAFKA_*`` lines of ``env_file`` only (a second
    cluster's: the environment's variables are not read). A missing file is an error."""
    if not env_file.is_file():
        raise ValueError(f"the Kafka security file {env_file} is not a file")
    settings = _FileOnlyKafkaSecuritySettings(_env_file=env_file)  # type: ignore[call-arg]
    return KafkaSecurity.model_validate(settings.model_dump())


def load_kafka_security(env_file: Path | None = None) -> KafkaSecurity:
    """``KafkaSecurity`` from the environment, and from ``env_file`` (the environment wins)."""
    settings = KafkaSecuritySettings(_env_file=env_file)  # type: ignore[call-arg]
    return KafkaSecurity.model_validate(settings.model_dump())
