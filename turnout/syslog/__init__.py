"""Syslog into Kafka: ``turnout syslog serve`` (see docs/syslog.md).

Depends only on confluent-kafka, protobuf, prometheus-client, pydantic(-settings) and
Typer: it installs and runs without the control plane's or the agent's code.
"""
