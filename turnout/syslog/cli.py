"""``turnout syslog serve``: flags over ``TURNOUT_SYSLOG_*`` variables over ``--config``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from turnout.syslog.settings import ClientAuth, ValueFormat, load

app = typer.Typer(
    help="Syslog into Kafka that keeps every TCP line through an outage.",
    no_args_is_help=True,
)


@app.callback()
def syslog() -> None:
    """Syslog into Kafka (docs/syslog.md)."""


def _pairs(values: list[str] | None, what: str) -> dict[str, str] | None:
    if not values:
        return None
    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not (name and sep):
            raise typer.BadParameter(f"{what} must look like name=value, not {item!r}")
        pairs[name] = value
    return pairs


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option(help="TOML file with any of the settings.")] = None,
    host: Annotated[str | None, typer.Option(help="Address the syslog sockets bind.")] = None,
    tcp_port: Annotated[int | None, typer.Option(help="TCP port (0: off). [5140]")] = None,
    udp_port: Annotated[int | None, typer.Option(help="UDP port (0: off). [5141]")] = None,
    tls_port: Annotated[int | None, typer.Option(help="TLS port, RFC 5425 (0: off).")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate chain.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key.")] = None,
    tls_client_ca: Annotated[Path | None, typer.Option(help="CA for client certs.")] = None,
    tls_client_auth: Annotated[ClientAuth | None, typer.Option()] = None,
    unix_socket: Annotated[Path | None, typer.Option(help="Unix stream socket path.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes. [cores]")] = None,
    max_message: Annotated[int | None, typer.Option(help="Longer messages are cut.")] = None,
    kafka_bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic or template, e.g. syslog.{app}")] = None,
    key: Annotated[str | None, typer.Option(help="Key template, e.g. {host}; '' none")] = None,
    value_format: Annotated[ValueFormat | None, typer.Option("--format")] = None,
    source: Annotated[str | None, typer.Option(help="LogLine source.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="LogLine tag k=v (repeat).")] = None,
    log_type_id: Annotated[int | None, typer.Option(help="LogLine log type id.")] = None,
    kafka_property: Annotated[
        list[str] | None, typer.Option("--kafka", help="librdkafka property k=v (repeat).")
    ] = None,
    spool_dir: Annotated[Path | None, typer.Option(help="Where the spool lives.")] = None,
    spool_max_bytes: Annotated[int | None, typer.Option(help="Spool bound.")] = None,
    memory_queue_lines: Annotated[int | None, typer.Option(help="Memory bound.")] = None,
    http_host: Annotated[str | None, typer.Option(help="Metrics/health address.")] = None,
    http_port: Annotated[int | None, typer.Option(help="Metrics/health port (0: off).")] = None,
    log_level: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Serve syslog (TCP, UDP, TLS, Unix) into Kafka."""
    from turnout.syslog.supervisor import serve as run

    try:
        settings = load(
            config,
            host=host, tcp_port=tcp_port, udp_port=udp_port, tls_port=tls_port,
            tls_cert=tls_cert, tls_key=tls_key, tls_client_ca=tls_client_ca,
            tls_client_auth=tls_client_auth, unix_socket=unix_socket, workers=workers,
            max_message=max_message, kafka_bootstrap=kafka_bootstrap, topic=topic, key=key,
            value_format=value_format, source=source, tags=_pairs(tag, "--tag"),
            log_type_id=log_type_id, kafka=_pairs(kafka_property, "--kafka"),
            spool_dir=spool_dir, spool_max_bytes=spool_max_bytes,
            memory_queue_lines=memory_queue_lines, http_host=http_host, http_port=http_port,
            log_level=log_level,
        )  # fmt: skip
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(run(settings))
