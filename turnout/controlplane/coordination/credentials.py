"""How the control plane authenticates to a cluster, without a secret in its database.

A cluster row names its credentials (``Cluster.credentials``), never holds them. The
name is resolved by the server process, in its own file system:

- no name: the control plane's own settings, the ``TURNOUT_KAFKA_*`` and
  ``TURNOUT_ZOOKEEPER_*`` variables of its environment and of the env file
  ``TURNOUT_SECURITY_ENV_FILE`` (the cluster's clients are the process's defaults);
- a name ``n``: the env file ``<TURNOUT_CLUSTER_CREDENTIALS_DIR>/n.env``, the same lines
  (what ``turnout dev up --secure`` writes as ``security/admin.env``) and nothing from
  the environment, so that one cluster's file cannot be overridden by another's
  variables. The passwords stay in the files that env file names.

The API shows the name only; an unknown name or an invalid file is a
:class:`CredentialsError` whose message says which and why (never the secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from pydantic import ValidationError

from turnout.protocol.kafka_security import KafkaSecurity
from turnout.protocol.paths import validate_name
from turnout.zk import ZkSecurity

KAFKA_PREFIX = "TURNOUT_KAFKA_"
ZOOKEEPER_PREFIX = "TURNOUT_ZOOKEEPER_"
#: The extension of a named credentials file in the credentials directory.
CREDENTIALS_SUFFIX = ".env"


class CredentialsError(Exception):
    """A cluster's credentials cannot be resolved; the message says which and why."""


@dataclass(frozen=True)
class ClusterCredentials:
    """Transport and identity of the control plane's clients of one cluster."""

    kafka: KafkaSecurity
    zookeeper: ZkSecurity


def _section(values: dict[str, str | None], prefix: str) -> dict[str, str]:
    return {
        key.removeprefix(prefix).lower(): value
        for key, value in values.items()
        if key.startswith(prefix) and value is not None
    }


def read_credentials_file(path: Path) -> ClusterCredentials:
    """The ``TURNOUT_KAFKA_*`` and ``TURNOUT_ZOOKEEPER_*`` lines of ``path``, alone."""
    if not path.is_file():
        raise CredentialsError(f"credentials file {path} does not exist")
    values = dotenv_values(path)
    try:
        return ClusterCredentials(
            kafka=KafkaSecurity.model_validate(_section(values, KAFKA_PREFIX)),
            zookeeper=ZkSecurity.model_validate(_section(values, ZOOKEEPER_PREFIX)),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise CredentialsError(f"credentials file {path}: {where}: {first['msg']}") from None


class CredentialStore:
    """Resolves a cluster's credentials name (see the module docstring)."""

    def __init__(self, default: ClusterCredentials, directory: Path | None) -> None:
        self.default = default
        self.directory = directory

    def path_of(self, name: str) -> Path:
        if self.directory is None:
            raise CredentialsError(
                f"cluster credentials {name!r} need TURNOUT_CLUSTER_CREDENTIALS_DIR, "
                "which this control plane does not have"
            )
        try:
            validate_name("credentials", name)
        except ValueError as exc:
            raise CredentialsError(str(exc)) from None
        return self.directory / f"{name}{CREDENTIALS_SUFFIX}"

    def resolve(self, name: str | None) -> ClusterCredentials:
        """The credentials ``name`` stands for (None: the process's own)."""
        if name is None:
            return self.default
        return read_credentials_file(self.path_of(name))
