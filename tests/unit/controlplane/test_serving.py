"""How serve configures uvicorn: redaction on every log handler, TLS and trusted proxies
from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from turnout.controlplane.serving import log_config, uvicorn_config
from turnout.controlplane.settings import ControlPlaneSettings


def test_every_log_handler_redacts_and_the_access_log_drops_stream_queries() -> None:
    config = log_config()
    for name, handler in config["handlers"].items():
        assert "redact" in handler["filters"], name
    assert config["handlers"]["access"]["filters"][0] == "stream_query"
    assert config["root"]["handlers"] == ["default"]
    assert config["loggers"]["turnout"] == {"level": "INFO"}


def test_tls_files_and_trusted_proxies_come_from_the_settings(tmp_path: Path) -> None:
    settings = ControlPlaneSettings(
        tls_certfile=tmp_path / "cert.pem",
        tls_keyfile=tmp_path / "key.pem",
        tls_keyfile_password="p4ss",  # type: ignore[arg-type]
        forwarded_allow_ips="10.0.0.7",
    )
    # log_config=None: building the config must not reconfigure this process's logging.
    config = uvicorn_config(FastAPI(), settings, log_config=None)
    assert (config.ssl_certfile, config.ssl_keyfile) == (
        str(tmp_path / "cert.pem"),
        str(tmp_path / "key.pem"),
    )
    assert config.ssl_keyfile_password == "p4ss"
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == "10.0.0.7"


def test_without_tls_settings_serve_speaks_plain_http() -> None:
    config = uvicorn_config(FastAPI(), ControlPlaneSettings(), log_config=None)
    assert config.ssl_certfile is None and config.ssl_keyfile is None


def test_a_certificate_without_its_key_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set both tls_certfile and tls_keyfile"):
        ControlPlaneSettings(tls_certfile=tmp_path / "cert.pem")
