"""`turnout mirror run --target-kafka HOST:PORT --deployment D --colour blue --instance I`.

Runs one mirror agent in the foreground: an agent of deployment D (its source topics are
the deployment's topics, on the cluster ``--kafka`` names) whose handler copies each
record to the same partition of its target topic on ``--target-kafka``
(docs/mirror.md). Stops on SIGTERM or SIGINT like ``turnout agent run``: drain, commit,
release, exit 0; bad input is one line on stderr and exit code 2.

The agent's own options are ``turnout agent run``'s (and its ``TURNOUT_AGENT_*``
variables); the mirror's read ``TURNOUT_MIRROR_*`` too (``MirrorSettings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from turnout.agent import cli_options as options
from turnout.agent.cli import BadInput, build_config, invalid
from turnout.agent.cli_options import DEFAULT_STOP_TIMEOUT_S

if TYPE_CHECKING:
    from turnout.mirror.settings import MirrorSettings

app = typer.Typer(help="Mirror topics to another Kafka cluster, as a Turnout deployment.")


def _mirror_settings(**values: object) -> MirrorSettings:
    from pydantic import ValidationError

    from turnout.mirror.settings import MirrorSettings

    given = {k: v for k, v in values.items() if v is not None}
    try:
        return MirrorSettings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise invalid(exc, "mirror") from exc


@app.command()
def run(
    target_kafka: Annotated[
        str | None,
        typer.Option(
            help="The target cluster's bootstrap servers (env TURNOUT_MIRROR_TARGET_KAFKA)"
        ),
    ] = None,
    source_alias: Annotated[
        str | None, typer.Option(help="The source cluster's short name (default: source)")
    ] = None,
    naming: Annotated[
        str | None, typer.Option(help="prefix (default), identity or template")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="prefix naming: the prefix (default '<alias>.')")
    ] = None,
    template: Annotated[
        str | None, typer.Option(help="template naming: e.g. 'mirror.{alias}.{topic}'")
    ] = None,
    coordinate_headers: Annotated[
        bool | None,
        typer.Option(
            "--coordinate-headers/--no-coordinate-headers",
            help="Add the source topic, partition and offset to each copy as headers",
        ),
    ] = None,
    config_deny: Annotated[
        list[str] | None,
        typer.Option(help="A topic config never copied nor synced (repeatable)"),
    ] = None,
    config_sync_interval: Annotated[
        float | None,
        typer.Option(help="Seconds between syncs of the target topics' configs (default 30)"),
    ] = None,
    deployment: options.Deployment = None,
    colour: options.Colour = None,
    instance: options.Instance = None,
    zookeeper: options.ZooKeeper = None,
    zk_root: options.ZkRoot = None,
    kafka: Annotated[str | None, typer.Option(help="The SOURCE cluster's bootstrap")] = None,
    session_timeout: options.SessionTimeout = None,
    fence_margin: options.FenceMargin = None,
    offset_store: options.OffsetStore = None,
    auto_offset_reset: options.AutoOffsetReset = None,
    properties: options.Properties = None,
    stop_timeout: options.StopTimeout = DEFAULT_STOP_TIMEOUT_S,
    log_level: options.LogLevel = "INFO",
    log_json: options.LogJson = True,
) -> None:
    """Run a mirror agent until SIGTERM/SIGINT, then drain, commit, release and exit 0."""
    from turnout.agent import logs
    from turnout.agent.cli import run_until_signalled
    from turnout.mirror.assembly import mirror_parts

    try:
        config = build_config(
            deployment=deployment,
            colour=colour,
            instance=instance,
            zookeeper=zookeeper,
            zk_root=zk_root,
            kafka=kafka,
            session_timeout_s=session_timeout,
            fence_margin_s=fence_margin,
            offset_store=offset_store,
            auto_offset_reset=auto_offset_reset,
            properties_file=properties,
        )
        settings = _mirror_settings(
            target_kafka=target_kafka,
            source_alias=source_alias,
            naming=naming,
            prefix=prefix,
            template=template,
            coordinate_headers=coordinate_headers,
            config_deny=frozenset(config_deny) if config_deny else None,
            config_sync_interval_s=config_sync_interval,
        )
    except BadInput as exc:
        typer.echo(f"turnout mirror: {exc}", err=True)
        raise typer.Exit(code=2) from None
    logs.configure(log_level, json_lines=log_json)
    parts = mirror_parts(config, settings)
    parts.config_sync.start()
    try:
        code = run_until_signalled(
            config,
            parts.handler,
            stop_timeout_s=stop_timeout,
            batch=True,
            processor=True,
            output_target=parts.target,
        )
    finally:
        parts.config_sync.stop()
    raise typer.Exit(code=code)
