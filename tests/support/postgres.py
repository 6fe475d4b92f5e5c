"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free port, then gone.

Uses Debian's server binaries (package ``postgresql``, /usr/lib/postgresql/<v>/bin). If
they are missing the fixture fails and says how to install them; it never skips.
PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres``
system user (created by the Debian package) through ``runuser``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from turnout.devstack.process import free_port

#: Debian versions to look for, newest first.
VERSIONS = ("17", "16", "15", "14")
#: initdb of an empty cluster takes ~1-3 s; a loaded 2-core box needs more.
INITDB_TIMEOUT_S = 120.0
#: Start-up of an empty cluster takes well under a second.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

INSTALL_HINT = "install the PostgreSQL server: apt-get install postgresql"


class PostgresUnavailableError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    for version in VERSIONS:
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailableError(
        f"no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: {INSTALL_HINT}"
    )


@dataclass
class TempPostgres:
    url: str
    data_dir: Path
    port: int


def _runner(base: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise PostgresUnavailableError("running as root needs runuser to start PostgreSQL")
    shutil.chown(base, user="postgres", group="postgres")
    return ["runuser", "-u", "postgres", "--"]


def _run(command: list[str], timeout_s: float, what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise PostgresUnavailableError(
            f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


@contextmanager
def temp_postgres() -> Iterator[TempPostgres]:
    """Start a cluster in a new temp dir; stop and delete it afterwards.

    The dir is made directly under the system temp dir (not pytest's tmp_path, whose
    parents are private to root) so the ``postgres`` user can reach it.
    """
    bin_dir = find_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="turnout-pg-"))
    prefix = _runner(base)
    data, sockets, log = base / "data", base / "sock", base / "postgres.log"
    _run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "turnout",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        INITDB_TIMEOUT_S,
        "initdb",
    )
    if prefix:
        sockets.mkdir()
        shutil.chown(sockets, user="postgres", group="postgres")
    else:
        sockets.mkdir()
    port = free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    _run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        ],
        START_TIMEOUT_S + 10,
        "pg_ctl start",
    )
    try:
        _wait_ready(port)
        yield TempPostgres(
            url=f"postgresql+psycopg://turnout@127.0.0.1:{port}/postgres", data_dir=data, port=port
        )
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=STOP_TIMEOUT_S,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(f"host=127.0.0.1 port={port} user=turnout dbname=postgres"):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresUnavailableError(f"PostgreSQL on {port} not ready: {exc}") from exc
            time.sleep(0.1)


def create_database(server: TempPostgres, name: str) -> str:
    """A fresh database on ``server``; returns its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=turnout dbname=postgres", autocommit=True
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return f"postgresql+psycopg://turnout@127.0.0.1:{server.port}/{name}"
