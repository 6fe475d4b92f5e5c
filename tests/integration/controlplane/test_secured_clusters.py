"""The control plane on the secured stack: a cluster names its credentials, never holds
them, and credentials that cannot be resolved or are refused are a clear 4xx or 503
with the reason, never a traceback or a secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.controlplane.kit import cp_settings, deployment_body
from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.services import Services, stack_passwords, zk_chroot
from turnout.zk import load_zk_security


def _credentials_dir(secured: Services, directory: Path) -> Path:
    """``admin.env`` (the stack's admin) and ``wrong.env`` (the admin with a ZooKeeper
    password the server does not know)."""
    directory.mkdir()
    admin = secured.client_settings["admin"].read_text()
    (directory / "admin.env").write_text(admin)
    wrong_password = directory / "wrong.password"
    wrong_password.write_text("not-the-password\n")
    lines = [
        f"TURNOUT_ZOOKEEPER_PASSWORD_FILE={wrong_password}"
        if line.startswith("TURNOUT_ZOOKEEPER_PASSWORD_FILE=")
        else line
        for line in admin.splitlines()
    ]
    (directory / "wrong.env").write_text("\n".join(lines) + "\n")
    return directory


@pytest.fixture
def secured_controlplane(secured: Services, tmp_path: Path) -> Iterator[RunningControlPlane]:
    """A control plane as the secured stack's admin, with a credentials directory."""
    admin = secured.client_settings["admin"]
    with zk_chroot(secured.zookeeper, "t-secured-cp", security=load_zk_security(admin)) as root:
        settings = cp_settings(
            f"sqlite:///{tmp_path / 'controlplane.db'}",
            root,
            secured.kafka,
            zookeeper_digest=None,
            security_env_file=admin,
            cluster_credentials_dir=_credentials_dir(secured, tmp_path / "credentials"),
        )
        with serve_in_thread(settings) as running:
            yield running


def _cluster(running: RunningControlPlane, name: str, credentials: str) -> dict[str, str]:
    return {
        "name": name,
        "kafka_bootstrap": running.settings.kafka_bootstrap,
        "zookeeper_connect": running.settings.zookeeper_connect,
        "credentials": credentials,
    }


def test_a_cluster_shows_its_credentials_name_and_an_unknown_name_is_refused(
    secured_controlplane: RunningControlPlane, secured: Services
) -> None:
    with secured_controlplane.client() as client:
        created = client.post("/api/v1/clusters", json=_cluster(secured_controlplane, "a", "admin"))
        assert created.status_code == 201, created.text
        assert created.json()["credentials"] == "admin"
        unknown = client.post("/api/v1/clusters", json=_cluster(secured_controlplane, "b", "nope"))
        assert unknown.status_code == 422, unknown.text
        assert "nope.env does not exist" in unknown.json()["detail"]
        listed = client.get("/api/v1/clusters")
    for secret in stack_passwords(secured):
        assert secret not in created.text + unknown.text + listed.text


def test_a_cluster_that_refuses_the_credentials_answers_503_with_the_reason(
    secured_controlplane: RunningControlPlane,
) -> None:
    with secured_controlplane.client() as client:
        created = client.post("/api/v1/clusters", json=_cluster(secured_controlplane, "c", "wrong"))
        assert created.status_code == 201, created.text
        body = {**deployment_body("dep", "group", ["topic"]), "cluster": "c"}
        refused = client.post("/api/v1/deployments", json=body)
    assert refused.status_code == 503, refused.text
    detail = refused.json()["detail"]
    assert "refused the credentials" in detail and "SASL DIGEST-MD5 as 'admin'" in detail
    assert "not-the-password" not in refused.text
