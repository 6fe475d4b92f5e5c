"""The secured stack's material: private where it must be, and what clients read from it
is exactly what the client seams expect."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from turnout.devstack import LocalStack, StackError, StackSettings, security, services
from turnout.protocol.kafka_security import load_kafka_security
from turnout.zk import load_zk_security, sasl_acl

HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> security.StackSecurity:
    return security.generate(tmp_path_factory.mktemp("stack"), HOSTS)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_holding_a_secret_is_readable_by_its_owner_only(
    material: security.StackSecurity,
) -> None:
    assert _mode(material.directory) == 0o700
    secret_files = [material.keystore, material.keystore_password_file]
    secret_files += [material.zookeeper_jaas_file]
    for identity in material.identities:
        secret_files += [identity.kafka_password_file, identity.zookeeper_password_file]
        secret_files.append(identity.env_file)
    for path in secret_files:
        assert _mode(path) == 0o600, path


def test_the_authority_cannot_sign_again_once_the_server_certificate_is_made(
    material: security.StackSecurity,
) -> None:
    assert material.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    left = sorted(p.name for p in material.directory.iterdir())
    assert not [name for name in left if name.endswith((".key", ".csr", ".srl"))], left


def test_every_password_is_its_own(material: security.StackSecurity) -> None:
    passwords = [security.read_secret(material.keystore_password_file)]
    for identity in material.identities:
        passwords.append(security.read_secret(identity.kafka_password_file))
        passwords.append(security.read_secret(identity.zookeeper_password_file))
    assert len(set(passwords)) == len(passwords) == 1 + 2 * len(material.identities)
    assert all(len(p) >= 32 for p in passwords)


def test_the_client_env_files_load_into_the_client_seams_and_hold_no_secret(
    material: security.StackSecurity, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TLS", "AUTH", "USERNAME", "PASSWORD", "PASSWORD_FILE", "CA_FILE"):
        monkeypatch.delenv(f"TURNOUT_ZOOKEEPER_{name}", raising=False)
    for name in ("SECURITY_PROTOCOL", "USERNAME", "PASSWORD", "PASSWORD_FILE", "CA_FILE"):
        monkeypatch.delenv(f"TURNOUT_KAFKA_{name}", raising=False)
    for identity in material.identities:
        text = identity.env_file.read_text()
        assert security.read_secret(identity.kafka_password_file) not in text
        assert security.read_secret(identity.zookeeper_password_file) not in text

        kafka = load_kafka_security(identity.env_file).client_config()
        assert kafka == security.kafka_client_config(material, identity) | {
            "ssl.endpoint.identification.algorithm": "https"
        }

        zookeeper = load_zk_security(identity.env_file)
        assert zookeeper.tls and zookeeper.ca_file == material.ca_file
        assert zookeeper.secret() == security.read_secret(identity.zookeeper_password_file)
        assert zookeeper.identity_acl() == sasl_acl(identity.name)


def test_zookeeper_serves_only_tls_and_authenticates_with_sasl(
    material: security.StackSecurity, tmp_path: Path
) -> None:
    settings = StackSettings(state_dir=tmp_path, zookeeper_port=12181)
    layout = services.write_zookeeper_config(settings, material)
    config = layout.config_file.read_text().splitlines()
    assert "secureClientPort=12181" in config
    assert not [line for line in config if line.startswith("clientPort")]
    assert "authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider" in config
    assert _mode(layout.config_file) == 0o600
    command = services.zookeeper_command(settings, tmp_path, "-Dmarker", material)
    assert f"-Djava.security.auth.login.config={material.zookeeper_jaas_file}" in command
    assert not [a for a in command if "password" in a.lower()]


def test_kafka_listens_on_sasl_ssl_and_its_controller_only_to_the_servers_key(
    material: security.StackSecurity, tmp_path: Path
) -> None:
    settings = StackSettings(state_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    layout = services.write_kafka_config(settings, material)
    config = dict(
        line.split("=", 1) for line in layout.config_file.read_text().splitlines() if line
    )
    assert config["advertised.listeners"] == "SASL_SSL://127.0.0.1:19092"
    assert config["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["listener.name.controller.ssl.client.auth"] == "required"
    assert _mode(layout.config_file) == 0o600


def test_a_plain_state_dir_is_not_turned_secure_behind_kafkas_back(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path, secure=True)
    data = services.layout(settings, "kafka").data_dir
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("formatted without SCRAM users\n")
    with pytest.raises(StackError, match="made without --secure; run `turnout dev down --purge`"):
        LocalStack(settings).up()


def test_a_secured_state_dir_is_not_started_plain(material: security.StackSecurity) -> None:
    state_dir = material.directory.parent
    with pytest.raises(StackError, match="is secured; start it with --secure"):
        LocalStack(StackSettings(state_dir=state_dir)).up()
    statuses = LocalStack(StackSettings(state_dir=state_dir)).status()
    reported = {s.name: s.security for s in statuses}
    assert reported["kafka"] is not None and reported["kafka"].transport == "SASL_SSL"
    assert reported["zookeeper"] is not None and reported["zookeeper"].transport == "TLS"
