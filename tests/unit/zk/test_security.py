"""ZkSecurity: what it accepts, what it hands kazoo, and that its secret never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from turnout.zk import ZkGateway, ZkSecurity, digest_acl, load_zk_security, sasl_acl
from turnout.zk.security import kazoo_arguments


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("not parsed here\n")
    return path


def test_the_default_is_plaintext_and_anonymous_and_adds_nothing_to_kazoo() -> None:
    security = ZkSecurity()
    assert kazoo_arguments(security) == {}
    assert security.describe() == "plaintext, anonymous"
    assert not security.secured


def test_tls_with_sasl_verifies_the_server_and_authenticates_with_digest_md5(
    ca_file: Path,
) -> None:
    security = ZkSecurity(
        tls=True, ca_file=ca_file, auth="sasl", username="client", password=SecretStr("s3cret")
    )
    assert kazoo_arguments(security) == {
        "use_ssl": True,
        "verify_certs": True,
        "check_hostname": True,
        "ca": str(ca_file),
        "certfile": None,
        "keyfile": None,
        "sasl_options": {"mechanism": "DIGEST-MD5", "username": "client", "password": "s3cret"},
    }
    assert security.secured
    assert security.identity_acl() == sasl_acl("client")
    assert security.describe() == "TLS, SASL DIGEST-MD5 as 'client'"


def test_digest_auth_claims_the_identity_its_acl_names(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("s3cret\n")
    security = ZkSecurity(auth="digest", username="controlplane", password_file=password_file)
    assert kazoo_arguments(security) == {"auth_data": [("digest", "controlplane:s3cret")]}
    assert security.identity_acl() == digest_acl("controlplane", "s3cret")


def test_a_password_file_is_read_again_for_each_use(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("first\n")
    security = ZkSecurity(auth="sasl", username="client", password_file=password_file)
    assert security.secret() == "first"
    password_file.write_text("rotated\n")
    assert security.secret() == "rotated"


def test_the_password_never_shows_in_a_repr_or_a_description() -> None:
    security = ZkSecurity(auth="sasl", username="client", password=SecretStr("s3cret"))
    assert "s3cret" not in repr(security)
    assert "s3cret" not in str(security)
    assert "s3cret" not in security.describe()
    assert "s3cret" not in security.model_dump_json()


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"auth": "sasl", "password": "x"}, "needs a username"),
        ({"auth": "sasl", "username": "u"}, "exactly one of password, password_file"),
        ({"username": "u", "password": "x"}, "needs auth=sasl or auth=digest"),
        ({"auth": "digest", "username": "a:b", "password": "x"}, "cannot contain ':'"),
        ({"ca_file": "/etc/hostname"}, "need tls=true"),
        ({"tls": True, "ca_file": "/nonexistent/ca.pem"}, "is not a file"),
        ({"tls": True, "cert_file": "/etc/hostname"}, "go together"),
        ({"auth": "plain"}, "Input should be"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_reason(
    fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        ZkSecurity.model_validate(fields)


def test_an_anonymous_client_has_no_identity_to_put_in_an_acl() -> None:
    with pytest.raises(ValueError, match="anonymous"):
        ZkSecurity().identity_acl()


def test_settings_come_from_an_env_file_and_the_environment_wins(
    tmp_path: Path, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "client.env"
    env_file.write_text(
        "TURNOUT_ZOOKEEPER_TLS=true\n"
        f"TURNOUT_ZOOKEEPER_CA_FILE={ca_file}\n"
        "TURNOUT_ZOOKEEPER_AUTH=sasl\n"
        "TURNOUT_ZOOKEEPER_USERNAME=from-file\n"
        "TURNOUT_ZOOKEEPER_PASSWORD=s3cret\n"
    )
    monkeypatch.setenv("TURNOUT_ZOOKEEPER_USERNAME", "from-env")
    security = load_zk_security(env_file)
    assert security.tls and security.ca_file == ca_file
    assert (security.auth, security.username, security.secret()) == ("sasl", "from-env", "s3cret")


def test_without_settings_a_client_is_plaintext_and_anonymous(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TLS", "AUTH", "USERNAME", "PASSWORD", "PASSWORD_FILE", "CA_FILE"):
        monkeypatch.delenv(f"TURNOUT_ZOOKEEPER_{name}", raising=False)
    assert load_zk_security() == ZkSecurity()


def test_a_gateway_keeps_its_security_and_merges_extra_digest_identities() -> None:
    security = ZkSecurity(auth="digest", username="agent", password=SecretStr("s3cret"))
    gateway = ZkGateway("127.0.0.1:1", security=security, auth=[("digest", "other:pw")])
    assert gateway.security is security
    assert "s3cret" not in repr(gateway.security)
    gateway.stop()
