"""docker-compose.yml is valid for users with Docker (no engine runs on our machines).

With a Docker client that has the compose plugin, `docker compose config` validates the
file; everywhere, the parsed file must wire the services, images, ports and health
checks the way the README promises.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def _has_compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


def test_compose_file_passes_docker_compose_config_where_the_client_exists() -> None:
    if not _has_compose_plugin():
        # The parse-based checks below still run; this one needs the plugin.
        return
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_service_the_product_needs_is_defined() -> None:
    services = _compose()["services"]
    assert {"zookeeper", "kafka", "postgres", "controlplane", "syslog"} <= set(services)


def test_images_are_pinned_to_the_versions_the_local_stack_runs() -> None:
    from turnout.devstack.settings import KAFKA_VERSION, ZOOKEEPER_VERSION

    services = _compose()["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["zookeeper"]["image"] == f"zookeeper:{ZOOKEEPER_VERSION}"
    assert services["postgres"]["image"].startswith("postgres:")
    assert "build" in services["controlplane"]


def test_every_service_has_a_health_check() -> None:
    for name, service in _compose()["services"].items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert service["healthcheck"]["test"], f"{name} healthcheck is empty"


def test_control_plane_waits_for_healthy_dependencies() -> None:
    depends = _compose()["services"]["controlplane"]["depends_on"]
    assert depends == {
        "zookeeper": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


def test_published_ports_match_the_documented_defaults() -> None:
    services = _compose()["services"]
    assert "2181:2181" in services["zookeeper"]["ports"]
    assert "9092:9092" in services["kafka"]["ports"]
    assert "5432:5432" in services["postgres"]["ports"]
    assert "8080:8080" in services["controlplane"]["ports"]


def test_control_plane_is_pointed_at_postgres_and_zookeeper() -> None:
    env = _compose()["services"]["controlplane"]["environment"]
    assert env["TURNOUT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["TURNOUT_ZOOKEEPER"] == "zookeeper:2181"


def test_syslog_server_publishes_its_ports_and_keeps_its_spool_on_a_volume() -> None:
    compose = _compose()
    syslog = compose["services"]["syslog"]
    assert {"5140:5140", "5141:5141/udp", "9514:9514"} <= set(syslog["ports"])
    assert "syslog-spool:/var/lib/turnout-syslog" in syslog["volumes"]
    assert "syslog-spool" in compose["volumes"]
    command = " ".join(syslog["command"])
    assert "turnout syslog serve" in command
    assert "--spool-dir /var/lib/turnout-syslog" in command
    assert syslog["depends_on"] == {"kafka": {"condition": "service_healthy"}}
