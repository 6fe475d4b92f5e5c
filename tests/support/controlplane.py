"""A control plane for tests: in-process (uvicorn in a thread) or as a subprocess.

In-process servers make API tests fast and let them reach the app's AppContext; subprocess
servers are for tests that SIGKILL the control plane.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.log_secrets import WATCH
from turnout.controlplane.app import create_app
from turnout.controlplane.context import AppContext
from turnout.controlplane.db import make_engine, make_sessionmaker, migrate
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.tokens import create_token
from turnout.controlplane.serving import log_config, uvicorn_config
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.devstack.process import free_port

#: uvicorn binds a loopback port in milliseconds; a loaded 2-core box needs more.
SERVER_START_TIMEOUT_S = 30.0
#: A control-plane subprocess imports FastAPI, SQLAlchemy, kazoo and librdkafka first.
SUBPROCESS_START_TIMEOUT_S = 60.0
#: Graceful stop of a server (the worker finishes its turn, ZooKeeper sessions close).
STOP_TIMEOUT_S = 15.0


def make_tokens(database_url: str) -> dict[ApiRole, str]:
    """One token per role, named after it (``admin``, ``operator``, ``viewer``), each
    recorded for the session's log-grep check."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            tokens = {
                role: create_token(
                    session, name=f"{role.value}-{os.urandom(3).hex()}", role=role, actor="test"
                ).token
                for role in ApiRole
            }
    finally:
        engine.dispose()
    for token in tokens.values():
        WATCH.record(token)
    return tokens


#: The in-process control planes' access log, in the session's log directory.
ACCESS_LOG = "controlplane-access.log"


def session_log_config() -> dict[str, Any]:
    """``turnout controlplane serve``'s logging (redaction, the event stream's query left
    out of the access log), with the access log in a file the session's log-grep reads
    instead of stdout, and the root and ``turnout.*`` loggers left to pytest's log capture."""
    config = log_config()
    # pytest's log capture hangs on the root logger; configuring root would remove it.
    del config["root"], config["loggers"]["turnout"]
    if WATCH.log_dir is not None:
        access = config["handlers"]["access"]
        del access["stream"]
        access["class"] = "logging.FileHandler"
        access["filename"] = str(WATCH.log_dir / ACCESS_LOG)
    return config


@dataclass
class RunningControlPlane:
    url: str
    tokens: dict[ApiRole, str]
    settings: ControlPlaneSettings
    context: AppContext | None = None

    def client(self, role: ApiRole = ApiRole.ADMIN, **kwargs: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=30.0,
            **kwargs,  # type: ignore[arg-type]
        )


@contextmanager
def serve_in_thread(settings: ControlPlaneSettings) -> Iterator[RunningControlPlane]:
    """Migrate, create tokens, and serve ``create_app(settings)`` on a free port."""
    migrate(settings.database_url)
    tokens = make_tokens(settings.database_url)
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn_config(
            app,
            settings,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_config=session_log_config(),
        )
    )
    thread = threading.Thread(target=server.run, name="controlplane-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the control plane did not start on port {port}")
        time.sleep(0.02)
    try:
        yield RunningControlPlane(
            url=f"http://127.0.0.1:{port}",
            tokens=tokens,
            settings=settings,
            context=app.state.context,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)


@dataclass
class ControlPlaneProcess:
    """``turnout controlplane serve`` as a child process (for SIGKILL tests)."""

    env: dict[str, str]
    port: int
    log_path: Path
    #: The authority that signed the server's certificate, when it serves HTTPS.
    ca_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "http" if self.ca_file is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client needs to trust this server."""
        return True if self.ca_file is None else ssl.create_default_context(cafile=self.ca_file)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "turnout", "controlplane", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + SUBPROCESS_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the control plane exited with {self.process.returncode}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            try:
                healthz = httpx.get(f"{self.url}/healthz", timeout=1.0, verify=self.verify)
                if healthz.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("the control plane did not answer /healthz in time")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
