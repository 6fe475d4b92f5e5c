"""The secured stack's certificates and credentials, and where they live.

`turnout dev up --secure` makes them once per state dir, in ``<state dir>/security/``
(mode 0700; every file holding a secret 0600):

    ca.pem                     the throw-away authority's certificate: clients trust it
    server.pem                 the servers' certificate (for inspection; it is public)
    server.p12                 the servers' key and certificate (ZooKeeper's and Kafka's)
    keystore.password          the keystore's password
    kafka-admin.password       SCRAM-SHA-512 password of Kafka user ``admin``
    kafka-client.password      SCRAM-SHA-512 password of Kafka user ``client``
    zookeeper-admin.password   SASL DIGEST-MD5 password of ZooKeeper user ``admin``
                               (a ZooKeeper super user: ACLs do not bind it)
    zookeeper-client.password  SASL DIGEST-MD5 password of ZooKeeper user ``client``
    kafka-client-b.password,   the same for ``client-b``: a second ordinary user, for a
    zookeeper-client-b.password  deployment whose agents must not reach another's nodes
    zookeeper-jaas.conf        ZooKeeper's server-side list of users and passwords
    admin.env, client.env,     each identity's ``TURNOUT_KAFKA_*`` and ``TURNOUT_ZOOKEEPER_*``
    client-b.env               client settings: paths and names only, no secret
    .complete                  written last: the material is whole

The ``*.env`` files are read by the client seams (``turnout.protocol.kafka_security``
and ``turnout.zk.security``); a unit test holds the names written here to theirs. The
local stack stands alone (it imports nothing else of Turnout), hence the names twice.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from turnout.devstack.certificates import issue_server_certificate

SECURITY_SUBDIR = "security"
COMPLETE_MARKER = ".complete"
KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
ZOOKEEPER_SASL_MECHANISM = "DIGEST-MD5"
#: 24 random bytes as hex: strong, and free of the characters (quotes, commas, brackets)
#: that Kafka's storage tool and JAAS files would need escaped.
_PASSWORD_BYTES = 24


@dataclass(frozen=True)
class Identity:
    """One user of the stack, the same name in Kafka and in ZooKeeper."""

    name: str
    kafka_password_file: Path
    zookeeper_password_file: Path
    env_file: Path


@dataclass(frozen=True)
class StackSecurity:
    """Paths of the secured stack's material (never the secrets themselves)."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.directory / "server.p12"

    @property
    def keystore_password_file(self) -> Path:
        return self.directory / "keystore.password"

    @property
    def zookeeper_jaas_file(self) -> Path:
        return self.directory / "zookeeper-jaas.conf"

    def identity(self, name: str) -> Identity:
        return Identity(
            name=name,
            kafka_password_file=self.directory / f"kafka-{name}.password",
            zookeeper_password_file=self.directory / f"zookeeper-{name}.password",
            env_file=self.directory / f"{name}.env",
        )

    @property
    def admin(self) -> Identity:
        return self.identity("admin")

    @property
    def client(self) -> Identity:
        return self.identity("client")

    @property
    def second_client(self) -> Identity:
        """Another ordinary user: the agents of a second deployment, whose ZooKeeper
        nodes the first one's agents (``client``) must not be able to touch."""
        return self.identity("client-b")

    @property
    def identities(self) -> tuple[Identity, ...]:
        return (self.admin, self.client, self.second_client)

    @property
    def is_complete(self) -> bool:
        return (self.directory / COMPLETE_MARKER).is_file()


def security_of(state_dir: Path) -> StackSecurity:
    return StackSecurity(state_dir / SECURITY_SUBDIR)


def read_secret(path: Path) -> str:
    return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, before a byte of ``text`` is in it."""
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)


def generate(state_dir: Path, hosts: list[str]) -> StackSecurity:
    """Make the whole material afresh (any half-made leftover is discarded)."""
    security = security_of(state_dir)
    shutil.rmtree(security.directory, ignore_errors=True)
    security.directory.mkdir(parents=True, mode=0o700)
    keystore_password = secrets.token_hex(_PASSWORD_BYTES)
    write_private(security.keystore_password_file, keystore_password + "\n")
    issue_server_certificate(security.directory, hosts, keystore_password)
    for identity in security.identities:
        write_private(identity.kafka_password_file, secrets.token_hex(_PASSWORD_BYTES) + "\n")
        write_private(identity.zookeeper_password_file, secrets.token_hex(_PASSWORD_BYTES) + "\n")
        write_private(identity.env_file, client_environment(security, identity))
    write_private(security.zookeeper_jaas_file, zookeeper_jaas(security))
    (security.directory / COMPLETE_MARKER).write_text("")
    return security


def client_environment(security: StackSecurity, identity: Identity) -> str:
    """The client seams' settings of ``identity`` as an env file (no secret in it)."""
    lines = [
        "# Client settings of the local stack's user "
        f"{identity.name!r}: paths and names only, the passwords stay in their files.",
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        f"TURNOUT_KAFKA_SASL_MECHANISM={KAFKA_SASL_MECHANISM}",
        f"TURNOUT_KAFKA_USERNAME={identity.name}",
        f"TURNOUT_KAFKA_PASSWORD_FILE={identity.kafka_password_file}",
        f"TURNOUT_KAFKA_CA_FILE={security.ca_file}",
        "TURNOUT_ZOOKEEPER_TLS=true",
        f"TURNOUT_ZOOKEEPER_CA_FILE={security.ca_file}",
        "TURNOUT_ZOOKEEPER_AUTH=sasl",
        f"TURNOUT_ZOOKEEPER_USERNAME={identity.name}",
        f"TURNOUT_ZOOKEEPER_PASSWORD_FILE={identity.zookeeper_password_file}",
    ]
    return "\n".join(lines) + "\n"


def zookeeper_jaas(security: StackSecurity) -> str:
    users = "\n".join(
        f'    user_{identity.name}="{read_secret(identity.zookeeper_password_file)}"'
        for identity in security.identities
    )
    return (
        "Server {\n"
        "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f"{users};\n"
        "};\n"
    )


def kafka_scram_arguments(security: StackSecurity) -> list[str]:
    """``--add-scram`` arguments of Kafka's storage tool: every identity's credential."""
    arguments = []
    for identity in security.identities:
        password = read_secret(identity.kafka_password_file)
        arguments += [
            "--add-scram",
            f"{KAFKA_SASL_MECHANISM}=[name={identity.name},password={password}]",
        ]
    return arguments


def kafka_client_config(security: StackSecurity, identity: Identity) -> dict[str, str]:
    """confluent-kafka settings of ``identity`` on the SASL_SSL listener (holds its
    password: hand it to a client, never log it)."""
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": KAFKA_SASL_MECHANISM,
        "sasl.username": identity.name,
        "sasl.password": read_secret(identity.kafka_password_file),
        "ssl.ca.location": str(security.ca_file),
    }


@dataclass(frozen=True)
class ServiceSecurity:
    """How clients reach one secured service, and where their material is (no secret)."""

    #: ``TLS`` (ZooKeeper) or ``SASL_SSL`` (Kafka).
    transport: str
    #: ``SASL DIGEST-MD5`` or ``SASL SCRAM-SHA-512``.
    authentication: str
    ca_file: Path
    #: user name → the file holding that user's password for this service
    password_files: dict[str, Path]
    #: user name → the env file of that user's client settings (both services)
    client_settings: dict[str, Path]


def service_security(security: StackSecurity, service: str) -> ServiceSecurity:
    zookeeper = service == "zookeeper"
    return ServiceSecurity(
        transport="TLS" if zookeeper else "SASL_SSL",
        authentication=f"SASL {ZOOKEEPER_SASL_MECHANISM if zookeeper else KAFKA_SASL_MECHANISM}",
        ca_file=security.ca_file,
        password_files={
            i.name: i.zookeeper_password_file if zookeeper else i.kafka_password_file
            for i in security.identities
        },
        client_settings={i.name: i.env_file for i in security.identities},
    )
