"""The syslog server's settings: flags over ``TURNOUT_SYSLOG_*`` variables over a TOML file.

Built once by ``turnout syslog serve`` and handed to every worker (as JSON: workers are
spawned processes). Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from turnout.syslog.framing import DEFAULT_MAX_MESSAGE


class ValueFormat(StrEnum):
    RAW = "raw"
    JSON = "json"
    LOGLINE = "logline"


class ClientAuth(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


def default_workers() -> int:
    """One worker per core this process may run on: the hot path is CPU-bound Python."""
    return max(1, len(os.sched_getaffinity(0)))


class SyslogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TURNOUT_SYSLOG_", extra="forbid")

    host: str = "0.0.0.0"
    #: Plain TCP (RFC 6587); 0 turns the listener off.
    tcp_port: int = Field(default=5140, ge=0, le=65535)
    #: UDP (RFC 5426); 0 turns the listener off.
    udp_port: int = Field(default=5141, ge=0, le=65535)
    #: TLS over TCP (RFC 5425, whose port is 6514); off unless a port and cert+key are set.
    tls_port: int = Field(default=0, ge=0, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle client certificates are checked against; with ``tls_client_auth``.
    tls_client_ca: Path | None = None
    tls_client_auth: ClientAuth = ClientAuth.NONE
    #: A Unix stream socket (octet-counted or LF framing); served by worker 0 only.
    unix_socket: Path | None = None

    workers: int = Field(default_factory=default_workers, ge=1, le=256)
    max_message: int = Field(default=DEFAULT_MAX_MESSAGE, ge=64, le=16 * 1024 * 1024)

    kafka_bootstrap: str = "127.0.0.1:9092"
    #: One topic, or a template over the fields: ``syslog.{facility}``, ``logs-{app}``
    #: (fields: syntax, facility, severity, host, app, procid, msgid, listener).
    topic: str = "syslog"
    #: Record key, a template over the same fields; empty means no key.
    key: str = ""
    value_format: ValueFormat = ValueFormat.RAW
    #: LogLine fields (value_format ``logline``): the original client's ``--source``,
    #: ``--tag k=v`` and ``--log.type.id``.
    source: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    log_type_id: int = 0
    #: librdkafka producer properties over Turnout's defaults (``acks``, ``linger.ms``,
    #: ``compression.type``, security settings, ...).
    kafka: dict[str, str | int | float | bool] = Field(default_factory=dict)

    #: Lines held in memory (librdkafka's queue) before new ones go to the spool.
    memory_queue_lines: int = Field(default=100_000, ge=1_000)
    memory_queue_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    spool_dir: Path = Path("turnout-syslog-spool")
    #: When the spool holds this much, the server stops reading its stream sockets.
    spool_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)

    #: Metrics (``/metrics``) and health (``/healthz``); 0 turns the endpoint off.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9514, ge=0, le=65535)
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # ``toml_file`` is set by ``load`` on a subclass; without it the source is empty.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _tls_needs_cert_and_key(self) -> SyslogSettings:
        if self.tls_port and (self.tls_cert is None or self.tls_key is None):
            raise ValueError("tls_port needs tls_cert and tls_key")
        if self.tls_client_auth != ClientAuth.NONE and self.tls_client_ca is None:
            raise ValueError("tls_client_auth needs tls_client_ca")
        return self

    @property
    def listener_names(self) -> list[str]:
        names = []
        if self.tcp_port:
            names.append("tcp")
        if self.tls_port:
            names.append("tls")
        if self.udp_port:
            names.append("udp")
        if self.unix_socket is not None:
            names.append("unix")
        return names


def load(config_file: Path | None = None, **overrides: Any) -> SyslogSettings:
    """Settings from ``overrides`` (flags), then the environment, then ``config_file``."""
    given = {name: value for name, value in overrides.items() if value is not None}
    if config_file is None:
        return SyslogSettings(**given)
    if not config_file.is_file():
        raise FileNotFoundError(f"no config file at {config_file}")

    class FromFile(SyslogSettings):
        model_config = SettingsConfigDict({**SyslogSettings.model_config, "toml_file": config_file})

    return FromFile(**given)
