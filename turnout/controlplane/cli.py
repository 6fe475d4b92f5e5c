"""CLI: ``turnout controlplane migrate|serve``, ``turnout token ...`` (``token_cli``), and
the API client commands ``deployments list|show|create``, ``switch``, ``rollback``,
``assign``, ``status``.

The client commands need only the core package; the server-side commands import the
server libraries when they run, inside ``server_libraries()``, so that without the
``controlplane`` extra they say what to install instead of failing on import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from turnout.controlplane.cli_support import SERVER_LIBRARIES, fail, server_libraries, table
from turnout.controlplane.client import ClientError, ControlPlaneClient
from turnout.controlplane.token_cli import token_app

controlplane_app = typer.Typer(
    help="Run the control plane (REST API + reconciler).", no_args_is_help=True
)
deployments_app = typer.Typer(
    help="Create and read deployments through the API.", no_args_is_help=True
)

UrlOpt = Annotated[str, typer.Option("--url", envvar="TURNOUT_URL", help="Control-plane base URL")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="TURNOUT_TOKEN", help="API bearer token")
]
DEFAULT_URL = "http://127.0.0.1:8080"


@controlplane_app.command("migrate")
def migrate_command() -> None:
    """Bring the database (TURNOUT_DATABASE_URL) to the newest schema."""
    with server_libraries("controlplane migrate"):
        from turnout.controlplane.db import migrate
    from turnout.controlplane.settings import ControlPlaneSettings

    settings = ControlPlaneSettings()
    head = migrate(settings.database_url)
    typer.echo(f"database at schema revision {head}")


@controlplane_app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Overrides TURNOUT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides TURNOUT_PORT")] = None,
) -> None:
    """Serve the API and the built dashboard. Run `migrate` first. HTTPS when
    TURNOUT_TLS_CERTFILE and TURNOUT_TLS_KEYFILE are set (docs/security.md)."""
    with server_libraries("controlplane serve"):
        from turnout.controlplane.app import create_app
        from turnout.controlplane.db import SchemaNotCurrentError
        from turnout.controlplane.serving import serve
    from turnout.controlplane.settings import ControlPlaneSettings

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = ControlPlaneSettings(**overrides)
    try:
        app = create_app(settings)
    except SchemaNotCurrentError as exc:
        raise fail(str(exc)) from exc
    serve(app, settings)


def _client(url: str, token: str | None) -> ControlPlaneClient:
    if not token:
        raise fail("no API token: pass --token or set TURNOUT_TOKEN")
    return ControlPlaneClient(url, token)


@deployments_app.command("list")
def deployments_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """One line per deployment: name, live colour, epoch, last switch."""
    with _client(url, token) as client:
        try:
            items = client.deployments()
        except ClientError as exc:
            raise fail(str(exc)) from exc
    rows = [
        [
            d["name"],
            d.get("team") or "-",
            d["cluster"],
            d["active_colour"],
            str(d["epoch"]),
            "paused" if d["paused"] else "",
            "→ " + d["mirror"]["target_cluster"] if d.get("mirror") else "",
            ""
            if d["last_switch"] is None
            else f"{d['last_switch']['state']} → {d['last_switch']['to_colour']}",
        ]
        for d in items
    ]
    typer.echo(
        table(
            ["DEPLOYMENT", "TEAM", "CLUSTER", "LIVE", "EPOCH", "PAUSED", "MIRROR", "LAST SWITCH"],
            rows,
        )
    )


def _read_body(file: Path) -> dict[str, Any]:
    """A JSON object from ``file`` (``-``: standard input), or a one-line error."""
    import sys

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{file} is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise fail(f"{file} must hold a JSON object (a deployment body), not {type(body).__name__}")
    return body


@deployments_app.command("create")
def deployments_create(
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="A deployment body as JSON (docs/api.md; '-': stdin)"),
    ],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Create a deployment (a mirror too: a body with a ``mirror`` object); prints it."""
    body = _read_body(file)
    with _client(url, token) as client:
        try:
            created = client.create_deployment(body)
        except ClientError as exc:
            raise fail(str(exc)) from exc
    mirror = created.get("mirror")
    typer.echo(
        f"created {created['name']} on {created['cluster']}, epoch {created['epoch']}"
        + ("" if not mirror else f", mirroring to {mirror['target_cluster']}")
    )
    for source, target in (mirror or {}).get("target_topics", {}).items():
        typer.echo(f"  {source} → {target}")
    if mirror and mirror.get("source_topic_pattern"):
        typer.echo(f"  and every source topic matching {mirror['source_topic_pattern']}")
    for colour, entry in sorted(created.get("colours", {}).items()):
        if entry.get("via_mirror"):
            typer.echo(
                f"{colour} consumes the copies of {entry['via_mirror']} on {entry['cluster']}"
            )


@deployments_app.command("show")
def deployments_show(name: str, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """The deployment as JSON."""
    with _client(url, token) as client:
        try:
            found = client.deployment(name)
        except ClientError as exc:
            raise fail(str(exc)) from exc
    typer.echo(json.dumps(found, indent=2))


def _print_switch(found: dict[str, Any]) -> None:
    typer.echo(
        f"switch {found['id']} of {found['deployment']}: {found['from_colour']} → "
        f"{found['to_colour']}, epoch {found['epoch']}, {found['state']}"
        + (f" ({found['reason']})" if found.get("reason") else "")
    )
    for phase in found["phases"]:
        took = "" if phase["duration_ms"] is None else f"{phase['duration_ms']} ms"
        typer.echo(f"  {phase['name']:<18} {took}")


def _run_switch(client: ControlPlaneClient, started: dict[str, Any], wait: bool) -> None:
    if not wait:
        _print_switch(started)
        return
    # The server bounds the switch by timeout_s; allow its watcher a few polls beyond it.
    final = client.wait_switch(started["id"], float(started["timeout_s"]) + 10.0)
    _print_switch(final)
    if final["state"] != "completed":
        raise typer.Exit(code=1)


ForceOpt = Annotated[bool, typer.Option("--force", help="Switch even if it is not ready")]
WaitReadyOpt = Annotated[
    float,
    typer.Option("--wait-ready", min=0.0, max=120.0, help="Seconds to wait for it to be ready"),
]


def switch_command(
    deployment: str,
    to: Annotated[str, typer.Option("--to", help="The colour to make live: blue or green")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends")] = False,
    timeout_s: Annotated[float | None, typer.Option("--timeout", help="Seconds")] = None,
    force: ForceOpt = False,
    wait_ready_s: WaitReadyOpt = 0.0,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Switch a deployment's live role to the other colour (refused while it is not ready,
    unless --force)."""
    with _client(url, token) as client:
        try:
            started = client.switch(
                deployment, to, timeout_s=timeout_s, force=force, wait_ready_s=wait_ready_s
            )
            _run_switch(client, started, wait)
        except ClientError as exc:
            raise fail(str(exc)) from exc


def rollback_command(
    deployment: str,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends")] = False,
    timeout_s: Annotated[float | None, typer.Option("--timeout", help="Seconds")] = None,
    force: ForceOpt = False,
    wait_ready_s: WaitReadyOpt = 0.0,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Switch back to the colour that was live before the latest switch (gated on
    readiness like a switch)."""
    with _client(url, token) as client:
        try:
            started = client.rollback(
                deployment, timeout_s=timeout_s, force=force, wait_ready_s=wait_ready_s
            )
            _run_switch(client, started, wait)
        except ClientError as exc:
            raise fail(str(exc)) from exc


def assign_command(
    deployment: str,
    pins: Annotated[
        list[str], typer.Argument(help="topic/partition=instance, e.g. payments/3=billing-green-1")
    ],
    policy: Annotated[str, typer.Option(help="leave_unowned or fallback")] = "leave_unowned",
    preview: Annotated[bool, typer.Option("--preview", help="Only show the moves")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Pin partitions to instances (switches the strategy to manual)."""
    parsed: dict[str, str] = {}
    for item in pins:
        key, sep, instance = item.partition("=")
        if not sep or not key or not instance:
            raise fail(f"{item!r} must look like topic/partition=instance")
        parsed[key] = instance
    with _client(url, token) as client:
        try:
            result = client.pins(deployment, parsed, policy=policy, preview=preview)
        except ClientError as exc:
            raise fail(str(exc)) from exc
    if preview:
        rows = [
            [m["partition"], m["from_instance"] or "-", m["to_instance"] or "-"]
            for m in result["moves"]
        ]
        typer.echo(table(["PARTITION", "FROM", "TO"], rows))
        if result["unowned"]:
            typer.echo("left unowned: " + ", ".join(result["unowned"]))
    else:
        typer.echo(f"pins of {deployment} written at epoch {result['epoch']}")


def settings_command(
    deployment: str,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="name=value, e.g. workers=32, retries.max_retries=5"),
    ] = None,
    file: Annotated[Path | None, typer.Option(help="A JSON object of settings to change")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Show a deployment's processing settings, or change some (--set, --file): the
    agents of both colours apply a change live."""
    from turnout.controlplane.setting_changes import (
        SettingChangeError,
        describe_settings,
        setting_change,
    )

    try:
        change = setting_change(assignments or [], file)
    except SettingChangeError as exc:
        raise fail(str(exc)) from exc
    with _client(url, token) as client:
        try:
            before = client.deployment(deployment)["processing"]
            after = (
                client.change_deployment(deployment, {"processing": change})["processing"]
                if change
                else None
            )
        except ClientError as exc:
            raise fail(str(exc)) from exc
    title, header, rows = describe_settings(deployment, before, after)
    typer.echo(title)
    if rows:
        typer.echo(table(header, rows))


def status_command(deployment: str, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """Partitions, owners, offsets and lag of a deployment, as a table."""
    with _client(url, token) as client:
        try:
            state = client.state(deployment)
        except ClientError as exc:
            raise fail(str(exc)) from exc
    live, clusters = state["active_colour"], state.get("clusters", {})
    elsewhere = len(set(clusters.values())) > 1
    typer.echo(
        f"{state['deployment']}: live {live}"
        + (f" on {clusters[live]}" if elsewhere else "")
        + f", epoch {state['epoch']}"
        f"{', paused' if state['paused'] else ''}; ZooKeeper {state['zookeeper']}; "
        f"Kafka {state['kafka']}; lag {state['lag_total']} ({state['lag_status']})"
    )
    instances = [
        [
            i["instance"],
            i["colour"],
            i["version"],
            f"{i['host']}:{i['pid']}",
            i["state"],
            str(i["epoch"]),
            str(i["partitions"]),
            "yes" if i["ready"] else "no",
            _s(i["processing_version"] and f"v{i['processing_version']}")
            + ("" if i["processing_current"] is not False else " (behind)"),
        ]
        for i in state["instances"]
    ]
    header = ["INSTANCE", "COLOUR", "VERSION", "HOST:PID", "STATE", "EPOCH", "OWNS", "READY"]
    typer.echo(table([*header, "SETTINGS"], instances))
    partitions = [
        [
            p["binding"],
            f"{p['topic']}/{p['partition']}",
            p["owner_instance"] or "-",
            p["owner_colour"] or "-",
            _s(p["owner_epoch"]),
            _s(p["committed_offset"]),
            _s(p["end_offset"]),
            _s(p["lag"]),
        ]
        for p in state["partitions"]
    ]
    typer.echo(
        table(
            ["BINDING", "PARTITION", "OWNER", "COLOUR", "EPOCH", "COMMITTED", "END", "LAG"],
            partitions,
        )
    )


def _s(value: object) -> str:
    return "-" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """Add the control plane's commands to the ``turnout`` CLI."""
    app.add_typer(controlplane_app, name="controlplane")
    app.add_typer(token_app, name="token")
    app.add_typer(deployments_app, name="deployments")
    app.command(name="switch")(switch_command)
    app.command(name="rollback")(rollback_command)
    app.command(name="assign")(assign_command)
    app.command(name="status")(status_command)
    app.command(name="settings")(settings_command)


__all__ = ["SERVER_LIBRARIES", "register", "server_libraries"]
