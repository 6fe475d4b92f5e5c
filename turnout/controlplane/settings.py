"""The control plane's typed settings, read from ``TURNOUT_*`` environment variables.

Built once by whoever starts the process (``turnout controlplane serve``, a test, the
demo) and handed to ``create_app(settings)``: nothing reads the environment at import
time, so several control planes with different databases and ports can share a process.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from turnout.protocol.paths import DEFAULT_ROOT, validate_root

#: Where ``web/`` builds the dashboard, relative to the source checkout.
DEFAULT_WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


#: The longest lifetime a token may be given (10 years).
MAX_TOKEN_TTL_S = 3650 * 86_400
#: The lifetime of a token whose request gives none, unless settings say otherwise.
DEFAULT_TOKEN_TTL_S = 90 * 86_400
#: The longest a replaced secret may keep working after a rotation (a week).
MAX_TOKEN_ROTATION_GRACE_S = 7 * 86_400


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ControlPlaneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TURNOUT_", extra="ignore")

    #: SQLAlchemy URL. SQLite (a file in the working directory) by default;
    #: ``postgresql+psycopg://user@host:port/db`` for PostgreSQL.
    database_url: str = "sqlite:///turnout-controlplane.db"
    #: The control plane's own ZooKeeper (leader election of the reconciler, /readyz).
    #: Deployments use the ZooKeeper of their cluster resource.
    zookeeper_connect: str = "127.0.0.1:2181"
    zookeeper_root: str = DEFAULT_ROOT
    #: ``user:password`` of the control plane's ZooKeeper digest identity. When set, every
    #: directive node is writable only by this identity (readable by all); agents can still
    #: register and report under instances/, status/, owners/ and offsets/.
    zookeeper_digest: SecretStr | None = None
    #: An env file of ``TURNOUT_KAFKA_*`` and ``TURNOUT_ZOOKEEPER_*`` lines: how this
    #: process reaches its own ZooKeeper and every cluster that names no credentials
    #: (the environment's own such variables win over the file).
    security_env_file: Path | None = None
    #: Where a cluster's named credentials live: ``<dir>/<name>.env`` (same lines).
    cluster_credentials_dir: Path | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: PEM certificate (chain) and private key: when both are set, ``serve`` speaks HTTPS
    #: only. Paths, not contents, and never command-line options (``ps`` shows those).
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    #: Password of an encrypted ``tls_keyfile``.
    tls_keyfile_password: SecretStr | None = None
    #: Comma-separated addresses (or ``*``) of reverse proxies whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed: the client address and scheme they report replace
    #: the connection's. Anyone else's forwarded headers are ignored.
    forwarded_allow_ips: str = "127.0.0.1"
    #: Strict-Transport-Security max-age sent on HTTPS responses (0: not sent). A browser
    #: that saw it refuses plain HTTP to this host for that long: turn it on once HTTPS
    #: works, not before.
    hsts_max_age_s: int = Field(default=0, ge=0, le=63_072_000)
    #: Largest request body accepted (413 beyond). The biggest legitimate body is a pin
    #: or offset map of 10,000 partitions, well under 4 MiB.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=1024**3)
    #: Default bound of a switch when the request does not give one.
    switch_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    #: How often the leader looks at owner nodes of in-flight switches. Switch completion
    #: is observed at most this late; 50 ms keeps that well under the 1 s switch goal
    #: while a poll of 64 owner nodes stays a few ms of loopback work.
    switch_poll_interval_s: float = Field(default=0.05, gt=0, le=10)
    #: How often the leader re-applies desired state (DB) to ZooKeeper.
    reconcile_interval_s: float = Field(default=2.0, gt=0, le=300)
    #: Lag sampling period, and the window the Burrow-style status is judged over.
    lag_sample_interval_s: float = Field(default=10.0, gt=0, le=3600)
    lag_window_s: float = Field(default=300.0, gt=0, le=86_400)
    #: Period of the server-sent-events loop (state and switch changes).
    events_interval_s: float = Field(default=1.0, gt=0, le=60)
    #: The server ends an event stream this long after it opened; the client opens the
    #: next one with a new ticket, which checks its token again. An open stream thus
    #: outlives its token's revocation by at most this long.
    events_max_age_s: float = Field(default=300.0, gt=0, le=86_400)
    #: Name of this replica in the leader election.
    replica_id: str = Field(default_factory=_default_replica_id)
    #: Built dashboard; served at ``/`` when the directory exists.
    web_dist: Path = DEFAULT_WEB_DIST
    #: Lifetime of a new or rotated token unless its request gives one.
    token_ttl_s: int = Field(default=DEFAULT_TOKEN_TTL_S, ge=60, le=MAX_TOKEN_TTL_S)
    #: How long the secret a rotation replaces keeps working, so every client can take the
    #: new one without downtime (24 h: a day's deploy window).
    token_rotation_grace_s: int = Field(default=86_400, ge=0, le=MAX_TOKEN_ROTATION_GRACE_S)
    #: Failed authentications from one source address allowed per window; past them, every
    #: request from that address gets 429 (with Retry-After) until the window moves on.
    auth_failure_limit: int = Field(default=10, ge=1, le=10_000)
    auth_failure_window_s: int = Field(default=60, ge=1, le=86_400)
    #: Run the leader loop (switch watcher, reconciler, lag sampler) on this replica.
    #: API tests that only exercise HTTP switch it off to stay deterministic.
    background: bool = True

    @field_validator("zookeeper_digest")
    @classmethod
    def _digest_has_user_and_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            user, sep, password = value.get_secret_value().partition(":")
            if not (user and sep and password):
                raise ValueError("zookeeper_digest must look like 'user:password'")
        return value

    @model_validator(mode="after")
    def _tls_needs_both_files(self) -> ControlPlaneSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("set both tls_certfile and tls_keyfile, or neither")
        if self.tls_keyfile_password is not None and self.tls_keyfile is None:
            raise ValueError("tls_keyfile_password is set but tls_keyfile is not")
        return self

    @field_validator("zookeeper_root")
    @classmethod
    def _usable_root(cls, value: str) -> str:
        return validate_root(value)

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # psycopg 3 is the driver we ship; a bare postgresql:// would ask for psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value
