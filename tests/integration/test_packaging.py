"""The wheel as users install it: built from this checkout, installed into clean virtual
environments (core only, and with the ``controlplane`` extra), run against the session's
real ZooKeeper and Kafka.

- Core only: none of the server libraries is installed, the agent imports and consumes
  real records under ``turnout agent run``, the ``turnout`` command starts, and its
  control-plane commands name the extra to install instead of failing on an import.
- With the extra, from a working directory outside the checkout: the installed control
  plane migrates a SQLite database, creates a token, serves its API and the dashboard the
  wheel carries; the core install's API client talks to it.

Both environments install the wheel's dependencies at the versions of ``uv.lock``
(as constraints: what gets installed is still decided by the wheel's own metadata), from
uv's cache once it is warm.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer

from tests.support.agent_kit import DEPLOYMENT, REPO_ROOT, World, wait_until, world
from tests.support.services import Services
from turnout.devstack.process import free_port

#: The libraries only the control plane may need; the core install must have none of them.
SERVER_LIBRARIES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg")
#: Building the sdist and the wheel takes seconds; hatchling comes from uv's cache.
BUILD_TIMEOUT_S = 180.0
#: A virtual environment from uv's cache takes seconds; a cold cache downloads ~40 wheels.
INSTALL_TIMEOUT_S = 300.0
#: One CLI command of the installed package (imports, one database or API round trip).
COMMAND_TIMEOUT_S = 60.0
#: The agent connects, registers and claims in about a second; a loaded box is slower.
AGENT_CLAIM_TIMEOUT_S = 60.0
#: The control plane imports FastAPI, SQLAlchemy, kazoo and librdkafka before it binds.
SERVE_START_TIMEOUT_S = 60.0
#: A clean stop: the agent drains and commits, the server closes its sessions.
STOP_TIMEOUT_S = 30.0
RECORDS = 20

HANDLER_MODULE = """\
import os


def handle(record):
    with open(os.environ["PACKAGING_RECORDS_FILE"], "a", encoding="utf-8") as sink:
        sink.write(f"{record.partition} {record.offset}\\n")
"""

PROBE = f"""\
import importlib.util, json, sys
import turnout, turnout.agent, turnout.protocol, turnout.verify, turnout.zk
print(json.dumps({{
    "prefix": sys.prefix,
    "turnout": turnout.__file__,
    "server_libraries": [
        name for name in {SERVER_LIBRARIES!r} if importlib.util.find_spec(name) is not None
    ],
}}))
"""


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without what would reach into the checkout or its
    virtual environment (PYTHONPATH, VIRTUAL_ENV) or configure Turnout (TURNOUT_*)."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TURNOUT_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {**kept, "UV_PYTHON_DOWNLOADS": "never", **extra}


def execute(
    command: list[str | Path],
    cwd: Path,
    timeout_s: float = COMMAND_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def run(command: list[str | Path], cwd: Path, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
    """Run to the end; its stdout. Fails the test with the output when it exits non-zero."""
    done = execute(command, cwd, timeout_s)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def uv(*args: str | Path, cwd: Path = REPO_ROOT, timeout_s: float = INSTALL_TIMEOUT_S) -> str:
    return run([sys.executable, "-m", "uv", *args], cwd, timeout_s)


@dataclass(frozen=True)
class Installed:
    """A clean virtual environment with the wheel installed in it."""

    venv: Path
    workdir: Path  # a working directory outside the checkout

    def command(self, *args: str) -> list[str | Path]:
        return [self.venv / "bin" / "turnout", *args]

    def python(self, code: str) -> str:
        return run([self.venv / "bin" / "python", "-c", code], self.workdir)

    def turnout(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return execute(self.command(*args), self.workdir, env=env)

    def package_dir(self) -> Path:
        code = "import pathlib, turnout.controlplane as p; print(pathlib.Path(p.__file__).parent)"
        return Path(self.python(code).strip())


@dataclass(frozen=True)
class Built:
    wheel: Path
    constraints: Path  # uv.lock's versions of every dependency, extras included


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if not (REPO_ROOT / "web" / "dist" / "index.html").is_file():
        pytest.fail("the dashboard is not built (web/dist): run scripts/bootstrap.sh first")
    out = tmp_path_factory.mktemp("dist")
    # The whole release path: the sdist, then the wheel built from the sdist.
    uv("build", "--quiet", "--out-dir", out, timeout_s=BUILD_TIMEOUT_S)
    wheels = sorted(out.glob("turnout-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}: {sorted(out.iterdir())}"
    constraints = out / "constraints.txt"
    uv(
        "export", "--frozen", "--all-extras", "--no-dev", "--no-emit-project", "--no-hashes",
        "--no-header", "--output-file", constraints,
    )  # fmt: skip
    return Built(wheels[0], constraints)


def install(built: Built, root: Path, extras: str = "") -> Installed:
    venv = root / "venv"
    uv("venv", "--quiet", "--python", sys.executable, venv)
    requirement = f"turnout{extras} @ {built.wheel.as_uri()}"
    uv("pip", "install", "--quiet", "--python", venv / "bin" / "python",
       "--constraint", built.constraints, requirement)  # fmt: skip
    workdir = root / "work"
    workdir.mkdir()
    return Installed(venv, workdir)


@pytest.fixture(scope="module")
def core(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return install(built, tmp_path_factory.mktemp("core"))


@pytest.fixture(scope="module")
def with_controlplane(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return install(built, tmp_path_factory.mktemp("controlplane"), "[controlplane]")


@pytest.fixture
def agent_world(
    zk_root: str,
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[World]:
    with world(zk_root, services.kafka, topic_factory(2), unique("g"), 2, tmp_path / "w") as w:
        yield w


def test_core_install_has_no_server_library_and_its_agent_consumes_records(
    core: Installed, agent_world: World, tmp_path: Path
) -> None:
    probe = json.loads(core.python(PROBE))
    assert probe["turnout"].startswith(probe["prefix"]), probe  # the wheel, not the checkout
    assert probe["server_libraries"] == [], probe

    helped = core.turnout("--help")
    assert helped.returncode == 0 and "agent" in helped.stdout, helped.stderr
    for server_side in (
        ["controlplane", "migrate"],
        ["controlplane", "serve"],
        ["token", "create", "--name", "x"],
        ["demo"],
    ):
        refused = core.turnout(*server_side)
        assert refused.returncode == 1, (server_side, refused.stdout + refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, (server_side, refused.stderr)
        assert "pip install 'turnout[controlplane]'" in lines[0], (server_side, lines)

    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "packaging_handler.py").write_text(HANDLER_MODULE)
    records = tmp_path / "records.txt"
    agent_world.create_directive()
    command = core.command(
        "agent", "run", "packaging_handler:handle",
        "--deployment", DEPLOYMENT, "--colour", "blue", "--instance", "packaged-1",
        "--zookeeper", agent_world.zookeeper, "--kafka", agent_world.kafka,
        "--session-timeout", "4", "-X", "fetch.wait.max.ms=50",
    )  # fmt: skip
    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        agent = subprocess.Popen(
            [str(part) for part in command],
            cwd=core.workdir,
            env=clean_environment(PYTHONPATH=str(handlers), PACKAGING_RECORDS_FILE=str(records)),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: agent.poll() is not None or agent_world.all_owned({"packaged-1"}),
            AGENT_CLAIM_TIMEOUT_S,
            lambda: f"the installed agent owning both partitions:\n{log.read_text()[-3000:]}",
        )
        assert agent.poll() is None, f"the agent exited:\n{log.read_text()[-3000:]}"
        producer = Producer({"bootstrap.servers": agent_world.kafka})
        for i in range(RECORDS):
            producer.produce(agent_world.topic, value=f"r{i}".encode(), partition=i % 2)
        assert producer.flush(10) == 0
        wait_until(
            lambda: records.exists() and len(records.read_text().splitlines()) == RECORDS,
            AGENT_CLAIM_TIMEOUT_S,
            f"{RECORDS} records handled by the installed agent",
        )
        agent.send_signal(signal.SIGTERM)
        agent.wait(STOP_TIMEOUT_S)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(STOP_TIMEOUT_S)
    assert agent.returncode == 0, log.read_text()[-3000:]
    assert agent_world.owners() == {}  # released on a clean stop
    handled = sorted(line.split() for line in records.read_text().splitlines())
    assert handled == sorted([str(p), str(o)] for p in (0, 1) for o in range(RECORDS // 2))


def test_installed_control_plane_migrates_and_serves_its_api_and_packaged_dashboard(
    with_controlplane: Installed, core: Installed, zk_root: str, services: Services
) -> None:
    assert REPO_ROOT not in with_controlplane.workdir.parents
    env = {
        "TURNOUT_DATABASE_URL": f"sqlite:///{with_controlplane.workdir / 'controlplane.db'}",
        "TURNOUT_ZOOKEEPER_CONNECT": zk_root,
        "TURNOUT_KAFKA_BOOTSTRAP": services.kafka,
    }
    migrated = with_controlplane.turnout("controlplane", "migrate", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert "database at schema revision" in migrated.stdout
    created = with_controlplane.turnout("token", "create", "--name", "packaging", **env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = with_controlplane.workdir / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(part) for part in with_controlplane.command("controlplane", "serve")]
            + ["--port", str(port)],
            cwd=with_controlplane.workdir,
            env=clean_environment(**env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: server.poll() is not None or _answers(f"{url}/healthz"),
            SERVE_START_TIMEOUT_S,
            lambda: f"the installed control plane serving:\n{log.read_text()[-3000:]}",
        )
        assert server.poll() is None, log.read_text()[-3000:]
        with httpx.Client(base_url=url, timeout=COMMAND_TIMEOUT_S) as http:
            assert http.get("/api/v1/deployments").status_code == 401
            listed = http.get("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 200, listed.text

            packaged = with_controlplane.package_dir() / "dashboard"
            index = http.get("/")
            assert index.status_code == 200
            assert index.text == (packaged / "index.html").read_text()
            assert index.text == (REPO_ROOT / "web" / "dist" / "index.html").read_text()
            script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
            assert script is not None, index.text
            served = http.get(script.group(1))
            assert served.status_code == 200
            assert served.content == (packaged / script.group(1).lstrip("/")).read_bytes()
            assert not list(packaged.rglob("*.map")), "source maps are not shipped"

        # The core install's API client, with no server library, talks to it.
        listing = core.turnout("deployments", "list", "--url", url, "--token", token)
        assert listing.returncode == 0, listing.stderr
        assert "DEPLOYMENT" in listing.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(STOP_TIMEOUT_S)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
