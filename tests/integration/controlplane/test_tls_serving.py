"""`turnout controlplane serve` over HTTPS, with a throw-away certificate authority.

The certificate comes from the dev stack's authority (turnout.devstack.certificates); the
server is the real command in a subprocess, configured through the environment only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.controlplane import ControlPlaneProcess, make_tokens
from tests.support.services import Services
from turnout.controlplane.db import migrate
from turnout.controlplane.security import ApiRole
from turnout.devstack.certificates import OPENSSL_TIMEOUT_S, issue_server_certificate
from turnout.devstack.process import free_port

_KEY_PASSWORD = "tls-key-password-for-the-test"
_PASSWORD_VARIABLE = "TLS_TEST_KEY_PASSWORD"


def _pem_files(directory: Path) -> tuple[Path, Path, Path]:
    """(authority certificate, server certificate, server key encrypted with
    _KEY_PASSWORD), out of the dev stack's PKCS#12 keystore."""
    ca, keystore = issue_server_certificate(directory, ["127.0.0.1", "localhost"], _KEY_PASSWORD)
    cert, key = directory / "server-cert.pem", directory / "server-key.pem"
    env = {**os.environ, _PASSWORD_VARIABLE: _KEY_PASSWORD}
    common = ["openssl", "pkcs12", "-in", str(keystore), "-passin", f"env:{_PASSWORD_VARIABLE}"]
    for extra in (
        ["-clcerts", "-nokeys", "-out", str(cert)],
        ["-nocerts", "-passout", f"env:{_PASSWORD_VARIABLE}", "-out", str(key)],
    ):
        subprocess.run(
            [*common, *extra], env=env, check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_S
        )
    return ca, cert, key


@pytest.fixture
def https_controlplane(tmp_path: Path, services: Services) -> tuple[ControlPlaneProcess, str]:
    ca, cert, key = _pem_files(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'controlplane.db'}"
    migrate(database_url)
    token = make_tokens(database_url)[ApiRole.VIEWER]
    env = {
        **os.environ,
        "TURNOUT_DATABASE_URL": database_url,
        "TURNOUT_ZOOKEEPER_CONNECT": services.zookeeper,
        "TURNOUT_KAFKA_BOOTSTRAP": services.kafka,
        "TURNOUT_WEB_DIST": str(tmp_path / "no-dashboard"),
        "TURNOUT_TLS_CERTFILE": str(cert),
        "TURNOUT_TLS_KEYFILE": str(key),
        "TURNOUT_TLS_KEYFILE_PASSWORD": _KEY_PASSWORD,
        "TURNOUT_HSTS_MAX_AGE_S": "600",
    }
    cp = ControlPlaneProcess(
        env=env, port=free_port(), log_path=tmp_path / "controlplane-tls.log", ca_file=ca
    )
    return cp, token


def test_serve_speaks_https_with_the_configured_certificate_and_redacts_its_access_log(
    https_controlplane: tuple[ControlPlaneProcess, str],
) -> None:
    cp, token = https_controlplane
    cp.start()
    try:
        assert cp.url.startswith("https://")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=cp.url, verify=cp.verify, headers=headers, timeout=30) as api:
            whoami = api.get("/api/v1/whoami")
            assert whoami.status_code == 200, whoami.text
            assert whoami.headers["strict-transport-security"] == "max-age=600"
            # A careless client puts its token in a URL: the access log must not keep it.
            assert api.get("/api/v1/whoami", params={"access_token": token}).status_code == 200
        # A client that does not trust the throw-away authority refuses the server.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{cp.url}/healthz", timeout=10)
        # Plain HTTP on the same port gets no API answer.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{cp.port}/healthz", timeout=10).raise_for_status()
        assert cp.process is not None
        command_line = " ".join(str(a) for a in cp.process.args)  # type: ignore[union-attr]
        assert _KEY_PASSWORD not in command_line
    finally:
        cp.stop()
    log = cp.log_path.read_text()
    assert "Uvicorn running on https://" in log
    assert '"GET /api/v1/whoami?access_token=[redacted] HTTP/1.1" 200' in log
    assert token not in log
    assert _KEY_PASSWORD not in log
