"""Settings: flags over TURNOUT_SYSLOG_* over the TOML file; invalid combinations refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from turnout.syslog.cli import app
from turnout.syslog.settings import SyslogSettings, ValueFormat, load


def test_flags_win_over_the_environment_which_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "syslog.toml"
    config.write_text('topic = "from-file"\nkey = "{host}"\nworkers = 3\n[tags]\ndc = "eu"\n')
    monkeypatch.setenv("TURNOUT_SYSLOG_TOPIC", "from-env")
    monkeypatch.setenv("TURNOUT_SYSLOG_WORKERS", "5")
    settings = load(config, workers=7)
    assert (settings.topic, settings.key, settings.workers) == ("from-env", "{host}", 7)
    assert settings.tags == {"dc": "eu"}


def test_the_defaults_are_the_original_ports_and_raw_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load(None)
    assert (settings.tcp_port, settings.udp_port, settings.tls_port) == (5140, 5141, 0)
    assert settings.value_format is ValueFormat.RAW
    assert settings.listener_names == ["tcp", "udp"]
    assert settings.workers >= 1


def test_settings_survive_the_trip_to_a_worker_process(tmp_path: Path) -> None:
    settings = load(None, topic="t-{app}", tags={"a": "b"}, kafka={"linger.ms": 5})
    assert SyslogSettings.model_validate_json(settings.model_dump_json()) == settings


def test_tls_without_a_certificate_and_client_auth_without_a_ca_are_refused() -> None:
    with pytest.raises(ValidationError, match="tls_cert"):
        load(None, tls_port=6514)
    with pytest.raises(ValidationError, match="tls_client_ca"):
        load(None, tls_client_auth="required")


def test_the_command_reports_bad_settings_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--tls-port", "6514"])
    assert result.exit_code == 2
    assert "tls_cert" in result.output
    result = CliRunner().invoke(app, ["serve", "--tag", "no-equals-sign"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["serve", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "no config file" in result.output
