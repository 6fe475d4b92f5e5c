"""How a client reaches a secured ZooKeeper: TLS, and who it authenticates as.

``ZkSecurity`` is what ``ZkGateway(security=...)`` takes; ``load_zk_security`` reads it
from ``TURNOUT_ZOOKEEPER_*`` environment variables, or from an env file of the same
lines, never from a command line (``ps`` shows those to every user):

    TURNOUT_ZOOKEEPER_TLS=true               connect over TLS (the server's secureClientPort)
    TURNOUT_ZOOKEEPER_CA_FILE=ca.pem         authorities to trust (default: the system's)
    TURNOUT_ZOOKEEPER_CERT_FILE=client.pem   a client certificate and its key (PEM), for
    TURNOUT_ZOOKEEPER_KEY_FILE=client.key    servers that ask for one
    TURNOUT_ZOOKEEPER_CHECK_HOSTNAME=true    the certificate must name the host connected to
    TURNOUT_ZOOKEEPER_AUTH=sasl              none | sasl | digest (below)
    TURNOUT_ZOOKEEPER_USERNAME=client
    TURNOUT_ZOOKEEPER_PASSWORD_FILE=path     the password, alone in a file (or, less
                                             safely, TURNOUT_ZOOKEEPER_PASSWORD)

``sasl`` is SASL DIGEST-MD5: the server checks the password against its JAAS users when
the session starts, and a wrong one closes the session (``ZkAuthFailedError``); ACLs
name the identity as ``sasl:<username>``. ``digest`` is ZooKeeper's digest scheme: the
server checks nothing at connect, the identity is whatever ``user:password`` the client
claims, and ACLs name it by the password's hash (``turnout.zk.acl.digest_acl``).

The password is a ``SecretStr``: it never shows in a repr, a log line or an error. A
password file is read each time a gateway is built, so a rotated file is picked up by
the next session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from turnout.zk.acl import Acl, AclIdentity, digest_acl, digest_identity, sasl_acl

ZkAuthScheme = Literal["none", "sasl", "digest"]
#: The one SASL mechanism offered: DIGEST-MD5 needs nothing beyond a JAAS file on the
#: server (Kerberos would need a KDC).
SASL_MECHANISM = "DIGEST-MD5"


class ZkSecurity(BaseModel):
    """TLS and identity of a ZooKeeper client; the default is neither (plaintext, anonymous)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True
    auth: ZkAuthScheme = "none"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ZkSecurity:
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file, cert_file and key_file need tls=true")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        for name in ("ca_file", "cert_file", "key_file", "password_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} is not a file")
        has_password = self.password is not None or self.password_file is not None
        if self.auth == "none":
            if self.username is not None or has_password:
                raise ValueError("a username or password needs auth=sasl or auth=digest")
        else:
            if not self.username:
                raise ValueError(f"auth={self.auth} needs a username")
            if (self.password is None) == (self.password_file is None):
                raise ValueError(f"auth={self.auth} needs exactly one of password, password_file")
            if self.auth == "digest" and ":" in self.username:
                raise ValueError("a digest username cannot contain ':'")
        return self

    def secret(self) -> str:
        """The password (read from its file if it has one); "" without authentication."""
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return self.password.get_secret_value() if self.password is not None else ""

    def identity_acl(self) -> Acl:
        """An ACL entry giving this client's identity every permission on a node."""
        if self.auth == "sasl" and self.username:
            return sasl_acl(self.username)
        if self.auth == "digest" and self.username:
            return digest_acl(self.username, self.secret())
        raise ValueError("an anonymous client has no identity an ACL can name")

    def acl_identity(self) -> AclIdentity | None:
        """How ACL entries name this client (None: anonymous, only ``world`` entries)."""
        if self.auth == "sasl" and self.username:
            return ("sasl", self.username)
        if self.auth == "digest" and self.username:
            return digest_identity(self.username, self.secret())
        return None

    @property
    def secured(self) -> bool:
        """TLS or an identity: anything but a plaintext, anonymous client."""
        return self.tls or self.auth != "none"

    def describe(self) -> str:
        """One line for logs and errors: what is used, never the secret."""
        transport = "TLS" if self.tls else "plaintext"
        if self.auth == "none":
            return f"{transport}, anonymous"
        scheme = f"SASL {SASL_MECHANISM}" if self.auth == "sasl" else "digest"
        return f"{transport}, {scheme} as {self.username!r}"


class ZkSecuritySettings(BaseSettings, ZkSecurity):
    """``ZkSecurity`` read from ``TURNOUT_ZOOKEEPER_*`` variables (see the module doc)."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_ZOOKEEPER_", extra="ignore", frozen=True)


def load_zk_security(env_file: Path | None = None) -> ZkSecurity:
    """``ZkSecurity`` from the environment, and from ``env_file`` (the environment wins)."""
    settings = ZkSecuritySettings(_env_file=env_file)  # type: ignore[call-arg]
    return ZkSecurity.model_validate(settings.model_dump())


def kazoo_arguments(security: ZkSecurity) -> dict[str, Any]:
    """The keyword arguments of ``KazooClient`` that carry ``security``."""
    arguments: dict[str, Any] = {}
    if security.tls:
        arguments.update(
            use_ssl=True,
            verify_certs=True,
            check_hostname=security.check_hostname,
            ca=str(security.ca_file) if security.ca_file else None,
            certfile=str(security.cert_file) if security.cert_file else None,
            keyfile=str(security.key_file) if security.key_file else None,
        )
    if security.auth == "sasl":
        arguments["sasl_options"] = {
            "mechanism": SASL_MECHANISM,
            "username": security.username,
            "password": security.secret(),
        }
    elif security.auth == "digest":
        arguments["auth_data"] = [("digest", f"{security.username}:{security.secret()}")]
    return arguments
