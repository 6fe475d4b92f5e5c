"""`turnout mirror consume HANDLER --mirror M --side copies --peer-kafka A ...`: a colour of
a consumer deployment that consumes across a mirror, so that a switch moves the
deployment to the other cluster (cluster migration, docs/mirror.md). Without ``--mirror``
or ``--side``, they are read from the deployment's directive (the colour's side that the
control plane wrote for its ``via_mirror``).

It is ``turnout agent run`` (the same agent options, ``TURNOUT_AGENT_*`` variables, exit
codes) with the agent's consumer a ``MigratingSource``: ``--side copies`` for a colour on
the mirror's target cluster reading the copies, ``--side source`` for one on the source
cluster; ``--peer-kafka`` is the other cluster, where the other colour commits, reached
plaintext or with the ``TURNOUT_KAFKA_*`` lines of ``--peer-security-file`` (the process's
own ``TURNOUT_KAFKA_*`` variables are its own cluster's). A migrating colour keeps its
offsets in Kafka. Bad input is one line on stderr and exit code 2, before the agent
starts (the directive, when it is read, is the only thing read before).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from turnout.agent import cli_options as options
from turnout.agent.cli import BadInput, build_config, load_handler
from turnout.agent.cli_options import DEFAULT_STOP_TIMEOUT_S

if TYPE_CHECKING:
    from turnout.agent.environment import AgentEnvironment
    from turnout.protocol import Colour, Directive


def side_from_directive(
    directive: Directive | None, colour: Colour, mirror: str | None, side: str | None
) -> tuple[str, str]:
    """``--mirror`` and ``--side``, each the directive's for ``colour`` where not given."""
    crossing = None if directive is None else directive.crossings.get(colour)
    if crossing is None:
        raise BadInput(
            f"the deployment's directive gives {colour} no side of a mirror (the control "
            f"plane writes one for colours.{colour}.via_mirror): pass --mirror and --side"
        )
    return mirror or crossing.mirror, side or crossing.side.value


def migration_of(
    mirror: str, side: str, peer_kafka: str, peer_security: Path | None
) -> AgentEnvironment:
    """The environment of a colour consuming across ``mirror`` on ``side``."""
    from turnout.mirror.migration import Migration, migration_environment
    from turnout.protocol.crossing import MirrorSide
    from turnout.protocol.kafka_security import load_kafka_security_file

    if not mirror or not peer_kafka:
        raise BadInput("--mirror and --peer-kafka must not be empty")
    try:
        chosen = MirrorSide(side)
    except ValueError:
        raise BadInput(
            f"--side {side!r} must be one of: {', '.join(s.value for s in MirrorSide)}"
        ) from None
    properties: dict[str, str] = {}
    if peer_security is not None:
        try:
            properties = load_kafka_security_file(peer_security).client_config()
        except ValueError as exc:  # pydantic's ValidationError among them
            first = str(exc).splitlines()[0]
            raise BadInput(f"peer security file {peer_security}: {first}") from exc
    return migration_environment(Migration(mirror, chosen, peer_kafka, properties))


def consume(
    handler: Annotated[str, typer.Argument(help="The record handler: package.module:function")],
    peer_kafka: Annotated[
        str, typer.Option(help="The other cluster's bootstrap servers (the other colour's)")
    ],
    mirror: Annotated[
        str | None,
        typer.Option(
            help="The mirror deployment whose copies join the two clusters "
            "(default: the deployment's directive's, for this colour)"
        ),
    ] = None,
    side: Annotated[
        str | None,
        typer.Option(
            help="'copies' (this colour runs on the mirror's target cluster and reads the "
            "copies) or 'source' (it runs on the source cluster) (default: the "
            "directive's, for this colour)"
        ),
    ] = None,
    peer_security_file: Annotated[
        Path | None,
        typer.Option(
            help="An env file of TURNOUT_KAFKA_* lines for a secured other cluster "
            "(default: plaintext)"
        ),
    ] = None,
    deployment: options.Deployment = None,
    colour: options.Colour = None,
    instance: options.Instance = None,
    version: options.Version = None,
    zookeeper: options.ZooKeeper = None,
    zk_root: options.ZkRoot = None,
    kafka: Annotated[str | None, typer.Option(help="This colour's own cluster")] = None,
    session_timeout: options.SessionTimeout = None,
    fence_margin: options.FenceMargin = None,
    auto_offset_reset: options.AutoOffsetReset = None,
    metrics_port: options.MetricsPort = None,
    properties: options.Properties = None,
    security_env_file: options.SecurityEnvFile = None,
    stop_timeout: options.StopTimeout = DEFAULT_STOP_TIMEOUT_S,
    log_level: options.LogLevel = "INFO",
    log_json: options.LogJson = True,
    batch: options.Batch = None,
) -> None:
    """Run a colour that consumes across a mirror until SIGTERM/SIGINT, then drain,
    commit, release and exit 0."""
    from turnout.agent import logs
    from turnout.agent.cli import run_handler_until_signalled

    try:
        function = load_handler(handler)
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
            # Where a claim starts is read from the group's commits on both clusters.
            offset_store="kafka",
            auto_offset_reset=auto_offset_reset,
            metrics_port=metrics_port,
            properties_file=properties,
            security_env_file=security_env_file,
        )
        if mirror is None or side is None:
            from turnout.mirror.deployment_spec import MirrorSpecError, read_directive

            try:
                directive = read_directive(config)
            except MirrorSpecError as exc:
                raise BadInput(str(exc)) from exc
            mirror, side = side_from_directive(directive, config.colour, mirror, side)
        environment = migration_of(mirror, side, peer_kafka, peer_security_file)
    except BadInput as exc:
        typer.echo(f"turnout mirror consume: {exc}", err=True)
        raise typer.Exit(code=2) from None
    logs.configure(log_level, json_lines=log_json)
    code = run_handler_until_signalled(
        function, config, batch=batch, stop_timeout_s=stop_timeout, environment=environment
    )
    raise typer.Exit(code=code)
