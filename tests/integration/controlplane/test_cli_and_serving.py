"""Migrations as an explicit step, the token command, the CLI client, the dashboard files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.integration.controlplane.kit import (
    FakeAgents,
    cp_settings,
    create_deployment,
    deployment_body,
    start_with_cluster,
    wait_switch,
)
from tests.support.controlplane import RunningControlPlane
from tests.support.services import Services
from turnout.cli import app
from turnout.controlplane.app import create_app
from turnout.controlplane.db import SchemaNotCurrentError, head_revision
from turnout.controlplane.security import ApiRole
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.protocol import Colour
from turnout.zk import ZkGateway

#: `turnout controlplane serve` on an unmigrated database fails before binding a port.
SERVE_FAIL_TIMEOUT_S = 60.0


def test_serve_refuses_an_unmigrated_database_and_migrate_fixes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    with pytest.raises(SchemaNotCurrentError, match="turnout controlplane migrate"):
        create_app(ControlPlaneSettings(database_url=url, background=False))
    env = {**os.environ, "TURNOUT_DATABASE_URL": url, "TURNOUT_PORT": "0"}
    served = subprocess.run(
        [sys.executable, "-m", "turnout", "controlplane", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=SERVE_FAIL_TIMEOUT_S,
        check=False,
    )
    assert served.returncode == 1
    assert "run `turnout controlplane migrate` first" in served.stderr
    runner = CliRunner()
    migrated = runner.invoke(app, ["controlplane", "migrate"], env={"TURNOUT_DATABASE_URL": url})
    assert migrated.exit_code == 0, migrated.output
    assert f"schema revision {head_revision(url)}" in migrated.output
    created = runner.invoke(
        app,
        ["token", "create", "--name", "root", "--role", "admin"],
        env={"TURNOUT_DATABASE_URL": url},
    )
    assert created.exit_code == 0, created.output
    assert created.stdout.strip().startswith("tnt_")
    again = runner.invoke(
        app,
        ["token", "create", "--name", "root", "--role", "admin"],
        env={"TURNOUT_DATABASE_URL": url},
    )
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_client_lists_switches_assigns_and_shows_status(
    sqlite_controlplane: RunningControlPlane,
    zk: ZkGateway,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    cp = sqlite_controlplane
    topic, name, group = topic_factory(partitions=2), unique("dep"), unique("group")
    agents = FakeAgents(zk, name, group)
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, group, [topic]))
    agents.register("blue-0", Colour.BLUE)
    agents.own(topic, 0, "blue-0", Colour.BLUE, 1)
    agents.own(topic, 1, "blue-0", Colour.BLUE, 1)
    runner = CliRunner()
    env = {"TURNOUT_URL": cp.url, "TURNOUT_TOKEN": cp.tokens[ApiRole.OPERATOR]}

    listed = runner.invoke(app, ["deployments", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert name in listed.output and "blue" in listed.output
    shown = runner.invoke(app, ["deployments", "show", name], env=env)
    assert f'"name": "{name}"' in shown.output

    status = runner.invoke(app, ["status", name], env=env)
    assert status.exit_code == 0, status.output
    assert "PARTITION" in status.output and f"{topic}/1" in status.output
    assert "blue-0" in status.output
    # blue-0 has written no status: not ready, no settings version; it owns what its
    # owner nodes say (2), as the partition table below does.
    assert re.search(r"^blue-0 .* registered +None +2 +no +-$", status.output, re.MULTILINE), (
        status.output
    )

    preview = runner.invoke(app, ["assign", name, f"{topic}/1=blue-9", "--preview"], env=env)
    assert preview.exit_code == 0, preview.output
    assert f"left unowned: {topic}/1" in preview.output
    bad = runner.invoke(app, ["assign", name, "nonsense"], env=env)
    assert bad.exit_code == 1 and "topic/partition=instance" in bad.output

    refused = runner.invoke(app, ["switch", name, "--to", "green"], env=env)
    assert refused.exit_code == 1 and "no green instance is registered" in refused.output
    started = runner.invoke(
        app, ["switch", name, "--to", "green", "--timeout", "2", "--force"], env=env
    )
    assert started.exit_code == 0, started.output
    assert "blue → green" in started.output
    busy = runner.invoke(app, ["switch", name, "--to", "blue", "--force"], env=env)
    assert busy.exit_code == 1 and "HTTP 409" in busy.output
    # Nobody releases blue's partitions: the switch times out after 2 s ...
    with cp.client() as admin:
        first = admin.get(f"/api/v1/deployments/{name}/switches").json()["data"][0]
        assert wait_switch(admin, first["id"], {"timed_out"})["state"] == "timed_out"
    # ... and so does the rollback; --wait reports it and exits 1.
    waited = runner.invoke(app, ["rollback", name, "--wait", "--timeout", "1"], env=env)
    assert waited.exit_code == 1, waited.output
    assert "blue-0 (no status report yet)" in waited.output and "force" in waited.output
    waited = runner.invoke(app, ["rollback", name, "--wait", "--timeout", "1", "--force"], env=env)
    assert waited.exit_code == 1, waited.output
    assert "green → blue" in waited.output and "timed_out" in waited.output

    viewer = runner.invoke(
        app,
        ["switch", name, "--to", "blue"],
        env={**env, "TURNOUT_TOKEN": cp.tokens[ApiRole.VIEWER]},
    )
    assert viewer.exit_code == 1 and "HTTP 403" in viewer.output
    unreachable = runner.invoke(
        app, ["deployments", "list", "--url", "http://127.0.0.1:1"], env=env
    )
    assert unreachable.exit_code == 1 and "cannot reach the control plane" in unreachable.output


def test_dashboard_files_are_served_with_spa_fallback(
    sqlite_url: str, zk_root: str, services: Services, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>turnout dashboard</html>")
    (dist / "assets" / "app.js").write_text("console.log('x')")
    settings = cp_settings(sqlite_url, zk_root, services.kafka, web_dist=dist, background=False)
    with ExitStack() as stack:
        cp = start_with_cluster(settings, stack)
        with httpx.Client(base_url=cp.url) as client:
            assert "turnout dashboard" in client.get("/").text
            assert client.get("/assets/app.js").text == "console.log('x')"
            assert "turnout dashboard" in client.get("/deployments/billing").text
            missing_api = client.get("/api/v1/nothing-here")
            assert missing_api.status_code == 404 and "detail" in missing_api.json()
            assert client.get("/../../etc/passwd").status_code in (200, 404)
            assert "root:" not in client.get("/..%2F..%2Fetc%2Fpasswd").text
            assert client.get("/healthz").json()["status"] == "ok"


def test_cli_shows_and_changes_processing_settings(
    sqlite_controlplane: RunningControlPlane, unique: Callable[[str], str], tmp_path: Path
) -> None:
    cp, name = sqlite_controlplane, unique("dep")
    with cp.client() as admin:
        create_deployment(admin, deployment_body(name, unique("group"), ["payments"]))
    runner = CliRunner()
    env = {"TURNOUT_URL": cp.url, "TURNOUT_TOKEN": cp.tokens[ApiRole.ADMIN]}

    shown = runner.invoke(app, ["settings", name], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"processing settings of {name}, version 1" in shown.output
    assert re.search(r"^ordering +partition$", shown.output, re.MULTILINE), shown.output
    assert re.search(r"^retries\.max_retries +3$", shown.output, re.MULTILINE), shown.output

    file = tmp_path / "settings.json"
    file.write_text('{"dead_letters": {"enabled": true}}')
    changed = runner.invoke(
        app,
        ["settings", name, "--set", "ordering=key", "--set", "workers=32", "--file", str(file)],
        env=env,
    )
    assert changed.exit_code == 0, changed.output
    assert f"processing settings of {name}: version 1 → 2" in changed.output
    assert re.search(r"^ordering +partition +key$", changed.output, re.MULTILINE)
    assert re.search(r"^workers +10 +32$", changed.output, re.MULTILINE)
    assert re.search(r"^dead_letters\.enabled +false +true$", changed.output, re.MULTILINE)

    again = runner.invoke(app, ["settings", name, "--set", "workers=32"], env=env)
    assert again.exit_code == 0 and "unchanged (version 2)" in again.output
    refused = runner.invoke(app, ["settings", name, "--set", "ordering=lifo"], env=env)
    assert refused.exit_code == 1
    assert "HTTP 422: body.processing.ordering: ordering 'lifo' is not one of" in refused.output
    operator = runner.invoke(
        app,
        ["settings", name, "--set", "workers=2"],
        env={**env, "TURNOUT_TOKEN": cp.tokens[ApiRole.OPERATOR]},
    )
    assert operator.exit_code == 1 and "HTTP 403" in operator.output
