"""A cluster's credentials: a name the server resolves to an env file, read alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout.controlplane.coordination.credentials import (
    ClusterCredentials,
    CredentialsError,
    CredentialStore,
)
from turnout.protocol.kafka_security import KafkaSecurity
from turnout.zk import ZkSecurity

OWN = ClusterCredentials(kafka=KafkaSecurity(), zookeeper=ZkSecurity())


def _store(tmp_path: Path) -> CredentialStore:
    password = tmp_path / "admin.password"
    password.write_text("s3cret\n")
    (tmp_path / "prod.env").write_text(
        "TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
        "TURNOUT_KAFKA_USERNAME=admin\n"
        f"TURNOUT_KAFKA_PASSWORD_FILE={password}\n"
        "TURNOUT_ZOOKEEPER_AUTH=sasl\n"
        "TURNOUT_ZOOKEEPER_USERNAME=admin\n"
        f"TURNOUT_ZOOKEEPER_PASSWORD_FILE={password}\n"
    )
    (tmp_path / "broken.env").write_text("TURNOUT_KAFKA_SECURITY_PROTOCOL=SASL_SSL\n")
    return CredentialStore(OWN, tmp_path)


def test_no_name_is_the_processs_own_credentials(tmp_path: Path) -> None:
    assert _store(tmp_path).resolve(None) is OWN


def test_a_name_is_its_env_file_alone_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNOUT_KAFKA_USERNAME", "someone-else")
    resolved = _store(tmp_path).resolve("prod")
    assert resolved.kafka.describe() == "SASL_SSL, SCRAM-SHA-512 as 'admin'"
    assert resolved.zookeeper.acl_identity() == ("sasl", "admin")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("absent", "absent.env does not exist"),
        ("broken", "broken.env: .*needs a username"),
        ("../etc", "credentials '../etc' must be"),
    ],
)
def test_an_unresolvable_name_says_which_and_why(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(CredentialsError, match=reason):
        _store(tmp_path).resolve(name)


def test_a_name_without_a_credentials_directory_is_refused() -> None:
    with pytest.raises(CredentialsError, match="need TURNOUT_CLUSTER_CREDENTIALS_DIR"):
        CredentialStore(OWN, None).resolve("prod")
