"""`turnout dev up | down | status | logs`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from turnout.devstack.errors import StackError, read_log_tail
from turnout.devstack.security import ServiceSecurity
from turnout.devstack.settings import StackSettings
from turnout.devstack.stack import LocalStack, ServiceStatus

app = typer.Typer(
    help="A real local ZooKeeper + Kafka (KRaft) for demos and tests, without Docker."
)

StateDir = Annotated[
    Path | None,
    typer.Option(help="Where configs, data, logs and pids live (env TURNOUT_DEV_STATE_DIR)"),
]


def _settings(
    state_dir: Path | None = None,
    zookeeper_port: int | None = None,
    kafka_port: int | None = None,
    kafka_controller_port: int | None = None,
    secure: bool | None = None,
    clusters: int | None = None,
    second_kafka_port: int | None = None,
    second_kafka_controller_port: int | None = None,
) -> StackSettings:
    overrides: dict[str, object] = {
        "clusters": clusters,
        "second_kafka_port": second_kafka_port,
        "second_kafka_controller_port": second_kafka_controller_port,
        "state_dir": state_dir,
        "zookeeper_port": zookeeper_port,
        "kafka_port": kafka_port,
        "kafka_controller_port": kafka_controller_port,
        "secure": secure,
    }
    return StackSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


def _fail(error: StackError) -> typer.Exit:
    typer.echo(error.render(), err=True)
    return typer.Exit(code=1)


def _describe(statuses: list[ServiceStatus]) -> str:
    lines = [f"{'SERVICE':<10} {'STATE':<9} {'ADDRESS':<16} {'PID':<8} LOG"]
    for s in statuses:
        state = "healthy" if s.healthy else ("unready" if s.running else "down")
        pid = str(s.pid) if s.pid is not None and s.running else "-"
        lines.append(f"{s.name:<10} {state:<9} {s.address:<16} {pid:<8} {s.log_file}")
    for s in statuses:
        if s.security is not None:
            lines.append(
                f"{s.name} is secured: {s.security.transport}, {s.security.authentication}; "
                f"CA {s.security.ca_file}"
            )
    secured = next((s.security for s in statuses if s.security is not None), None)
    if secured is not None:
        settings = ", ".join(str(path) for path in secured.client_settings.values())
        lines.append(f"client settings (env files, no secret in them): {settings}")
    return "\n".join(lines)


def _security_json(security: ServiceSecurity | None) -> dict[str, Any] | None:
    if security is None:
        return None
    return {
        "transport": security.transport,
        "authentication": security.authentication,
        "ca_file": str(security.ca_file),
        "password_files": {user: str(path) for user, path in security.password_files.items()},
        "client_settings": {user: str(path) for user, path in security.client_settings.items()},
    }


@app.command()
def up(
    state_dir: StateDir = None,
    zookeeper_port: Annotated[
        int | None, typer.Option(help="(env TURNOUT_DEV_ZOOKEEPER_PORT)")
    ] = None,
    kafka_port: Annotated[int | None, typer.Option(help="(env TURNOUT_DEV_KAFKA_PORT)")] = None,
    kafka_controller_port: Annotated[
        int | None, typer.Option(help="(env TURNOUT_DEV_KAFKA_CONTROLLER_PORT)")
    ] = None,
    secure: Annotated[
        bool | None,
        typer.Option(
            "--secure",
            help="Kafka on SASL_SSL (SCRAM-SHA-512), ZooKeeper on TLS with SASL; a "
            "throw-away CA and credentials in the state dir (env TURNOUT_DEV_SECURE)",
        ),
    ] = None,
    clusters: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=2,
            help="2: a second Kafka cluster, kafka-b, beside the first, for the mirror "
            "(env TURNOUT_DEV_CLUSTERS)",
        ),
    ] = None,
    second_kafka_port: Annotated[
        int | None, typer.Option(help="(env TURNOUT_DEV_SECOND_KAFKA_PORT)")
    ] = None,
    second_kafka_controller_port: Annotated[
        int | None, typer.Option(help="(env TURNOUT_DEV_SECOND_KAFKA_CONTROLLER_PORT)")
    ] = None,
) -> None:
    """Fetch (once), configure and start ZooKeeper and Kafka; wait until all answer."""
    stack = LocalStack(
        _settings(
            state_dir,
            zookeeper_port,
            kafka_port,
            kafka_controller_port,
            secure,
            clusters,
            second_kafka_port,
            second_kafka_controller_port,
        )
    )
    try:
        result = stack.up(progress=lambda line: typer.echo(f"… {line}"))
    except StackError as error:
        raise _fail(error) from error
    if result.already_running:
        typer.echo("the local stack is already up")
    else:
        typer.echo("the local stack is up")
    typer.echo(_describe(result.services))


@app.command()
def down(
    state_dir: StateDir = None,
    purge: Annotated[bool, typer.Option(help="Also delete the services' data")] = False,
) -> None:
    """Stop the stack's processes (all of them) and optionally delete its data."""
    stopped = LocalStack(_settings(state_dir)).down(purge=purge)
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "the local stack was not running")


@app.command()
def status(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """What runs where, and whether it answers. Exits 1 unless every service is healthy."""
    statuses = LocalStack(_settings(state_dir)).status()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "pid": s.pid,
                        "address": s.address,
                        "running": s.running,
                        "healthy": s.healthy,
                        "log_file": str(s.log_file),
                        "security": _security_json(s.security),
                    }
                    for s in statuses
                ],
                indent=2,
            )
        )
    else:
        typer.echo(_describe(statuses))
    if not all(s.healthy for s in statuses):
        raise typer.Exit(code=1)


@app.command()
def logs(
    service: Annotated[
        str | None, typer.Argument(help="zookeeper, kafka or kafka-b; all if omitted")
    ] = None,
    lines: Annotated[int, typer.Option("-n", "--lines", min=1)] = 40,
    state_dir: StateDir = None,
) -> None:
    """Print the last lines of a service's log, and where the whole log is."""
    stack = LocalStack(_settings(state_dir))
    names = [service] if service else list(stack.service_names())
    for name in names:
        try:
            path = stack.log_file(name)
        except StackError as error:
            raise _fail(error) from error
        typer.echo(f"==> {name}: {path} <==")
        typer.echo(read_log_tail(path, lines) or "(no log yet)")
