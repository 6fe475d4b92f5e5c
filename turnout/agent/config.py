"""The agent's typed configuration: arguments > ``TURNOUT_AGENT_*`` environment > a
properties file > defaults.

The properties file is Java style (``key=value`` or ``key: value``, ``#``/``!`` comments).
Keys are the field names below (``session_timeout_s=4``); keys starting with ``kafka.``
are librdkafka properties passed through to the consumer with the prefix stripped
(``kafka.fetch.wait.max.ms=50``). In the environment the librdkafka properties are one
JSON object: ``TURNOUT_AGENT_KAFKA_PROPERTIES='{"fetch.wait.max.ms": "50"}'``.

How the agent reaches a secured cluster is the client seams' business, never a command
line's: ``kafka_security`` (``turnout.protocol.kafka_security``) and
``zookeeper_security`` (``turnout.zk.security``) are read, when not given, from the
``TURNOUT_KAFKA_*`` and ``TURNOUT_ZOOKEEPER_*`` environment variables and from the env
file ``security_env_file`` names (the environment wins). ``kafka_client_properties`` is
what every Kafka client of the agent is built with: the consumer, the commit handle and
the dead-letter producer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from turnout.protocol import Colour
from turnout.protocol.kafka_security import KafkaSecurity, load_kafka_security
from turnout.protocol.paths import DEFAULT_ROOT, validate_name, validate_root
from turnout.zk.security import ZkSecurity, load_zk_security

#: ZooKeeper session timeout. Takeover after a crash waits this long, so shorter is more
#: available; too short and a GC pause or a loaded box expires healthy sessions.
DEFAULT_SESSION_TIMEOUT_S = 10.0
#: The agent fences itself when it has not heard from ZooKeeper for
#: session timeout - fence margin. The margin must cover the longest gap between the
#: fence check and the end of a commit RPC (one handler start plus a commit round trip),
#: so that the agent has stopped before the server can expire it and a peer take over.
DEFAULT_FENCE_MARGIN_S = 1.5
#: Commit a partition at least this often while it makes progress: bounds the records
#: a crash replays (duplicates) in time.
DEFAULT_COMMIT_INTERVAL_S = 1.0
#: ... or as soon as this many records completed since its last commit: bounds the
#: replay window in records under high throughput (above 20,000 records/s per partition;
#: below that the interval commits first). A commit is a synchronous round trip of the
#: consume loop, so a small count makes a fast partition spend a noticeable share of the
#: loop's time committing; every due commit also carries the other partitions' progress
#: (``Commits.commit_due``), so this is per commit, not per partition.
DEFAULT_COMMIT_EVERY = 20_000

OffsetStoreName = Literal["kafka", "zookeeper"]
AutoOffsetReset = Literal["earliest", "latest", "error"]

_PROPERTIES_FILE_ENV = "TURNOUT_AGENT_PROPERTIES_FILE"
#: librdkafka properties that hold a secret: they would sit in a properties file, an
#: environment dump or a command line (``-X``), where ``ps`` shows them to every user.
SECRET_KAFKA_PROPERTIES = frozenset({"sasl.password", "ssl.key.password", "ssl.keystore.password"})


def read_properties(path: Path) -> dict[str, str]:
    """Parse a Java-style properties file (no line continuations or escapes)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        separators = [i for i in (line.find("="), line.find(":")) if i > 0]
        if not separators:
            raise ValueError(f"{path}:{number}: expected 'key=value', got {raw!r}")
        cut = min(separators)
        values[line[:cut].strip()] = line[cut + 1 :].strip()
    return values


class _PropertiesFileSource(PydanticBaseSettingsSource):
    """Reads the properties file named by the ``properties_file`` argument or env var."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        if self._path is None:
            return {}
        if not self._path.is_file():
            raise ValueError(f"properties file {self._path} does not exist")
        values: dict[str, Any] = {}
        kafka: dict[str, str] = {}
        for key, value in read_properties(self._path).items():
            if key.startswith("kafka."):
                kafka[key.removeprefix("kafka.")] = value
            else:
                values[key] = value
        if kafka:
            values["kafka_properties"] = kafka
        return values


class AgentConfig(BaseSettings):
    """Everything an agent needs. Build with ``AgentConfig(deployment=..., ...)``."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_AGENT_", extra="forbid", frozen=True)

    deployment: str
    colour: Colour
    #: Stable instance name (like Kafka's group.instance.id): pins and stickiness use it.
    instance: str
    version: str = "unversioned"
    #: ZooKeeper connect string, optionally with a chroot: ``host:2181,host2:2181/chroot``.
    zookeeper: str = "127.0.0.1:2181"
    zk_root: str = DEFAULT_ROOT
    #: Kafka bootstrap servers.
    kafka: str = "127.0.0.1:9092"
    session_timeout_s: float = Field(default=DEFAULT_SESSION_TIMEOUT_S, ge=1.0, le=600.0)
    fence_margin_s: float = Field(default=DEFAULT_FENCE_MARGIN_S, gt=0.0)
    offset_store: OffsetStoreName = "kafka"
    #: Where a partition with no committed offset starts.
    auto_offset_reset: AutoOffsetReset = "earliest"
    commit_interval_s: float = Field(default=DEFAULT_COMMIT_INTERVAL_S, gt=0.0)
    commit_every: int = Field(default=DEFAULT_COMMIT_EVERY, ge=1)
    #: Serve Prometheus metrics on this port (None: only via ``Agent.metrics_registry``).
    metrics_port: int | None = None
    #: librdkafka properties passed through to the consumer (group.id, enable.auto.*
    #: and bootstrap.servers are the agent's own and cannot be overridden).
    kafka_properties: dict[str, str] = Field(default_factory=dict)
    properties_file: Path | None = None
    #: An env file of ``TURNOUT_KAFKA_*`` and ``TURNOUT_ZOOKEEPER_*`` lines (what
    #: ``turnout dev up --secure`` writes as ``security/client.env``).
    security_env_file: Path | None = None
    #: Transport and identity of the Kafka clients (default: from the environment).
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    #: Transport and identity of the ZooKeeper session (default: from the environment).
    zookeeper_security: ZkSecurity = Field(default_factory=ZkSecurity)

    @field_validator("deployment", "instance")
    @classmethod
    def _is_a_name(cls, value: str) -> str:
        return validate_name("name", value)

    @field_validator("zk_root")
    @classmethod
    def _is_a_root_of_its_own(cls, value: str) -> str:
        """The rule the control plane holds a cluster's root to: not ``/``, not under
        ZooKeeper's own ``/zookeeper`` tree."""
        return validate_root(value)

    @model_validator(mode="before")
    @classmethod
    def _security_from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        env_file = data.get("security_env_file")
        path = Path(env_file) if env_file else None
        if path is not None and not path.is_file():
            raise ValueError(f"security_env_file {path} is not a file")
        if data.get("kafka_security") is None:
            data = {**data, "kafka_security": load_kafka_security(path)}
        if data.get("zookeeper_security") is None:
            data = {**data, "zookeeper_security": load_zk_security(path)}
        return data

    @field_validator("kafka_properties", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _margin_fits(self) -> AgentConfig:
        if self.fence_margin_s >= self.session_timeout_s:
            raise ValueError(
                f"fence_margin_s ({self.fence_margin_s}) must be shorter than "
                f"session_timeout_s ({self.session_timeout_s})"
            )
        reserved = {"group.id", "enable.auto.commit", "enable.auto.offset.store"}
        clash = reserved & set(self.kafka_properties)
        if clash:
            raise ValueError(f"kafka properties {sorted(clash)} are set by the agent itself")
        secrets = SECRET_KAFKA_PROPERTIES & set(self.kafka_properties)
        if secrets:
            raise ValueError(
                f"kafka properties {sorted(secrets)} are secrets: give them through "
                "TURNOUT_KAFKA_* settings (a password file), not as properties"
            )
        return self

    @property
    def kafka_client_properties(self) -> dict[str, str]:
        """librdkafka properties of every Kafka client of the agent: the security
        settings, then ``kafka_properties`` (holds the password: never log it)."""
        return {**self.kafka_security.client_config(), **self.kafka_properties}

    @property
    def fence_after_s(self) -> float:
        """Silence from ZooKeeper longer than this fences the agent."""
        return self.session_timeout_s - self.fence_margin_s

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        path: Any = None
        if isinstance(init_settings, InitSettingsSource):
            path = init_settings.init_kwargs.get("properties_file")
        path = path or os.environ.get(_PROPERTIES_FILE_ENV)
        file_source = _PropertiesFileSource(settings_cls, Path(path) if path else None)
        return (init_settings, env_settings, file_source)
