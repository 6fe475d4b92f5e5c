"""Cluster bodies: where a deployment's Kafka and ZooKeeper are."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from turnout.protocol.paths import DEFAULT_ROOT, MAX_ROOT_LENGTH, validate_name, validate_root

#: The name of the credentials the control plane uses for a cluster (resolved by the
#: server: ``coordination.credentials``); never a secret.
CredentialsName = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The name of the credentials the control plane uses for this cluster "
        "(<TURNOUT_CLUSTER_CREDENTIALS_DIR>/<name>.env on the server); never a secret. "
        "Unset: the control plane's own settings",
    ),
]

_CLUSTER_EXAMPLE: dict[str, Any] = {
    "name": "local",
    "kafka_bootstrap": "127.0.0.1:9092",
    "zookeeper_connect": "127.0.0.1:2181",
    "zookeeper_root": "/turnout",
}


class ClusterUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kafka_bootstrap": "kafka:9092"}]})

    kafka_bootstrap: str | None = Field(default=None, min_length=1, max_length=1000)
    zookeeper_connect: str | None = Field(default=None, min_length=1, max_length=1000)
    zookeeper_root: str | None = Field(default=None, max_length=MAX_ROOT_LENGTH)
    credentials: CredentialsName = None

    @field_validator("zookeeper_root")
    @classmethod
    def _valid_root(cls, value: str | None) -> str | None:
        return None if value is None else validate_root(value)


class ClusterCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLUSTER_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200)
    kafka_bootstrap: str = Field(min_length=1, max_length=1000)
    zookeeper_connect: str = Field(min_length=1, max_length=1000)
    zookeeper_root: str = Field(default=DEFAULT_ROOT, max_length=MAX_ROOT_LENGTH)
    credentials: CredentialsName = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_name("cluster", value)

    @field_validator("zookeeper_root")
    @classmethod
    def _valid_root(cls, value: str) -> str:
        return validate_root(value)


class ClusterPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLUSTER_EXAMPLE]})

    name: str
    kafka_bootstrap: str
    zookeeper_connect: str
    zookeeper_root: str
    credentials: str | None = None
