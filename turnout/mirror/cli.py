"""`turnout mirror run --target-kafka HOST:PORT --deployment D --colour blue --instance I`,
and `turnout mirror translate --group G --deployment D --kafka SRC --target-kafka TGT`
(and `turnout mirror consume`, a consumer colour across a mirror: ``consume_cli``).

Runs one mirror agent in the foreground: an agent of deployment D (its source topics are
the deployment's topics, on the cluster ``--kafka`` names) whose handler copies each
record to the same partition of its target topic (docs/mirror.md). A deployment created
as a mirror (its ``mirror`` part) names the target and the topic naming; the process may
only reach the target by another address (``--target-kafka``). Any other deployment is
mirrored with the options given here. Stops on SIGTERM or SIGINT like ``turnout agent
run``: drain, commit, release, exit 0; bad input is one line on stderr and exit code 2.

The agent's own options are ``turnout agent run``'s (and its ``TURNOUT_AGENT_*``
variables); the mirror's read ``TURNOUT_MIRROR_*`` too (``MirrorSettings``).

``translate`` prints a group's committed source offsets as target offsets (a table, or
``--json``), each exact or bounded (``turnout.mirror.translation``); an unknown group, a
mirror with no syncs yet or a cluster that does not answer is one line on stderr and
exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from turnout.agent import cli_options as options
from turnout.agent.cli import BadInput, build_config, invalid, parse_kafka_properties
from turnout.agent.cli_options import DEFAULT_STOP_TIMEOUT_S
from turnout.mirror.consume_cli import consume

if TYPE_CHECKING:
    from turnout.agent.config import AgentConfig
    from turnout.mirror.settings import MirrorSettings
    from turnout.mirror.translation import TranslatedPartition

app = typer.Typer(help="Mirror topics to another Kafka cluster, as a Turnout deployment.")
app.command(name="consume")(consume)


def _mirror_settings(config: AgentConfig, **values: object) -> MirrorSettings:
    """The deployment's mirror settings (its directive's mirror part) with the options
    given here where a local override is allowed (``deployment_spec``)."""
    from pydantic import ValidationError

    from turnout.mirror.deployment_spec import MirrorSpecError, merged_settings, read_mirror_spec

    given = {k: v for k, v in values.items() if v is not None}
    try:
        settings = merged_settings(read_mirror_spec(config), given)
    except MirrorSpecError as exc:
        raise BadInput(str(exc)) from exc
    except ValidationError as exc:
        raise invalid(exc, "mirror") from exc
    try:
        settings.target_security()
    except ValueError as exc:  # pydantic's ValidationError among them
        raise BadInput(f"target security file {settings.target_security_file}: {exc}") from exc
    return settings


@app.command()
def run(
    target_kafka: Annotated[
        str | None,
        typer.Option(
            help="The target cluster's bootstrap servers (env TURNOUT_MIRROR_TARGET_KAFKA); "
            "default: the mirror deployment's target"
        ),
    ] = None,
    target_security_file: Annotated[
        Path | None,
        typer.Option(
            help="An env file of TURNOUT_KAFKA_* lines: how to reach a secured target "
            "cluster (env TURNOUT_MIRROR_TARGET_SECURITY_FILE); default: plaintext"
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
    checkpoint_group: Annotated[
        list[str] | None,
        typer.Option(
            help="A source group whose translated offsets are kept committed on the "
            "target (repeat for more)"
        ),
    ] = None,
    checkpoint_group_template: Annotated[
        str | None,
        typer.Option(help="The target group of a checkpointed one (default '{group}')"),
    ] = None,
    checkpoint_interval: Annotated[
        float | None, typer.Option(help="Seconds between two checkpoints (default 5)")
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
    version: options.Version = None,
    zookeeper: options.ZooKeeper = None,
    zk_root: options.ZkRoot = None,
    kafka: Annotated[str | None, typer.Option(help="The SOURCE cluster's bootstrap")] = None,
    session_timeout: options.SessionTimeout = None,
    fence_margin: options.FenceMargin = None,
    offset_store: options.OffsetStore = None,
    auto_offset_reset: options.AutoOffsetReset = None,
    metrics_port: options.MetricsPort = None,
    properties: options.Properties = None,
    security_env_file: options.SecurityEnvFile = None,
    kafka_property: Annotated[
        list[str] | None,
        typer.Option(
            "--kafka-property",
            "-X",
            help="librdkafka property of the SOURCE cluster's consumer, key=value (repeat)",
        ),
    ] = None,
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
            version=version,
            zookeeper=zookeeper,
            zk_root=zk_root,
            kafka=kafka,
            session_timeout_s=session_timeout,
            fence_margin_s=fence_margin,
            offset_store=offset_store,
            auto_offset_reset=auto_offset_reset,
            metrics_port=metrics_port,
            properties_file=properties,
            security_env_file=security_env_file,
            kafka_properties=parse_kafka_properties(kafka_property or []) or None,
        )
        settings = _mirror_settings(
            config,
            target_kafka=target_kafka,
            target_security_file=target_security_file,
            source_alias=source_alias,
            naming=naming,
            prefix=prefix,
            template=template,
            coordinate_headers=coordinate_headers,
            checkpoint_groups=checkpoint_group or None,
            checkpoint_group_template=checkpoint_group_template,
            checkpoint_interval_s=checkpoint_interval,
            config_deny=frozenset(config_deny) if config_deny else None,
            config_sync_interval_s=config_sync_interval,
        )
    except BadInput as exc:
        typer.echo(f"turnout mirror: {exc}", err=True)
        raise typer.Exit(code=2) from None
    logs.configure(log_level, json_lines=log_json)
    parts = mirror_parts(config, settings)
    parts.start()
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
        parts.stop()
    raise typer.Exit(code=code)


@app.command()
def translate(
    group: Annotated[str, typer.Option(help="The consumer group on the source cluster")],
    deployment: Annotated[
        str, typer.Option(help="The mirror deployment (names its offset syncs topic)")
    ],
    kafka: Annotated[str, typer.Option(help="The SOURCE cluster's bootstrap")],
    target_kafka: Annotated[str, typer.Option(help="The target cluster's bootstrap")],
    target_security_file: Annotated[
        Path | None,
        typer.Option(
            help="An env file of TURNOUT_KAFKA_* lines for a secured target cluster "
            "(the source's security is the TURNOUT_KAFKA_* environment's)"
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON array")] = False,
) -> None:
    """Print GROUP's committed source offsets translated to the target, per partition,
    each exact or bounded (the most records a reader there may read again)."""
    from turnout.mirror.translation import TranslationError, translate_group
    from turnout.protocol.kafka_security import load_kafka_security, load_kafka_security_file

    try:
        source_security = load_kafka_security()
        target_security = (
            None if target_security_file is None else load_kafka_security_file(target_security_file)
        )
    except ValueError as exc:  # pydantic's ValidationError among them
        typer.echo(f"turnout mirror translate: Kafka security: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        rows = translate_group(
            kafka,
            target_kafka,
            deployment,
            group,
            source_client=source_security.client_config(),
            target_client=None if target_security is None else target_security.client_config(),
        )
    except TranslationError as exc:
        typer.echo(f"turnout mirror translate: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if json_output:
        import json

        typer.echo(json.dumps([_translated_json(row) for row in rows]))
        return
    header = (
        "source topic",
        "partition",
        "committed",
        "target topic",
        "target offset",
        "precision",
    )
    lines = [header] + [
        (
            row.source_topic,
            str(row.partition),
            str(row.committed),
            row.target_topic,
            "-" if row.target_offset is None else str(row.target_offset),
            _precision_text(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _translated_json(row: TranslatedPartition) -> dict[str, object]:
    return {
        "source_topic": row.source_topic,
        "partition": row.partition,
        "committed": row.committed,
        "target_topic": row.target_topic,
        "target_offset": row.target_offset,
        "precision": str(row.precision),
        "rereads_at_most": row.rereads_at_most,
    }


def _precision_text(row: TranslatedPartition) -> str:
    from turnout.mirror.translation import Precision

    if row.precision is Precision.BOUNDED:
        return f"bounded (re-reads at most {row.rereads_at_most})"
    if row.precision is Precision.UNKNOWN:
        return "unknown (no sync at or below the committed offset)"
    return "exact"
