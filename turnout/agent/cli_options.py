"""The options every command that runs an agent takes (``turnout agent run``,
``turnout mirror run``): one spelling and one help text for each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: ``Agent.stop``'s own default (``coordination.loop.DEFAULT_STOP_TIMEOUT_S``), repeated so
#: that the option's default needs no import of the agent (a unit test keeps them equal).
DEFAULT_STOP_TIMEOUT_S = 30.0

Deployment = Annotated[
    str | None, typer.Option(help="Deployment name (env TURNOUT_AGENT_DEPLOYMENT)")
]
Colour = Annotated[str | None, typer.Option(help="blue or green (env TURNOUT_AGENT_COLOUR)")]
Instance = Annotated[
    str | None, typer.Option(help="Stable instance name (env TURNOUT_AGENT_INSTANCE)")
]
Version = Annotated[str | None, typer.Option(help="Version label shown in status")]
ZooKeeper = Annotated[str | None, typer.Option(help="ZooKeeper connect string")]
ZkRoot = Annotated[str | None, typer.Option(help="Turnout's root znode")]
Kafka = Annotated[str | None, typer.Option(help="Kafka bootstrap servers")]
SessionTimeout = Annotated[float | None, typer.Option(help="ZooKeeper session, seconds")]
FenceMargin = Annotated[float | None, typer.Option(help="Fence this long before expiry")]
OffsetStore = Annotated[str | None, typer.Option(help="kafka or zookeeper")]
AutoOffsetReset = Annotated[str | None, typer.Option(help="earliest, latest or error")]
MetricsPort = Annotated[int | None, typer.Option(help="Serve Prometheus metrics here")]
Properties = Annotated[
    Path | None, typer.Option("--properties", help="A properties file (key=value lines)")
]
SecurityEnvFile = Annotated[
    Path | None,
    typer.Option(
        help="An env file of TURNOUT_KAFKA_* and TURNOUT_ZOOKEEPER_* settings (how to "
        "reach secured clusters; passwords stay in the files it names)"
    ),
]
KafkaProperty = Annotated[
    list[str] | None,
    typer.Option("--kafka-property", "-X", help="librdkafka property key=value (repeat)"),
]
StopTimeout = Annotated[float, typer.Option(help="Seconds allowed for a clean stop")]
LogLevel = Annotated[str, typer.Option(help="DEBUG, INFO, WARNING, ERROR")]
LogJson = Annotated[bool, typer.Option(help="JSON-lines logs (else plain text)")]
Batch = Annotated[
    bool | None,
    typer.Option(
        "--batch/--per-record",
        help="The handler takes batches of records (default: as marked with "
        "@turnout.agent.batch_handler, else one record per call)",
    ),
]
