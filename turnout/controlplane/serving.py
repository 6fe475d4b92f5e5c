"""How ``turnout controlplane serve`` runs uvicorn: TLS, trusted proxies, and logging
with redaction.

Every knob comes from :class:`ControlPlaneSettings` (``TURNOUT_*`` environment), never
from the command line: a key password there would be in every user's ``ps``.
"""

from __future__ import annotations

import copy
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from turnout.controlplane.settings import ControlPlaneSettings

_FILTERS = "turnout.controlplane.log_redaction"


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with redaction on every handler, the event
    stream's query string out of the access log, and every other logger (the control
    plane's ``turnout.*`` at ``level``, libraries such as kazoo at WARNING) written by
    the same redacting handler through the root logger."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "redact": {"()": f"{_FILTERS}.RedactingFilter"},
        "stream_query": {"()": f"{_FILTERS}.StreamQueryFilter"},
    }
    config["handlers"]["default"]["filters"] = ["redact"]
    config["handlers"]["access"]["filters"] = ["stream_query", "redact"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["turnout"] = {"level": level.upper()}
    return config


def uvicorn_config(
    app: FastAPI, settings: ControlPlaneSettings, **overrides: Any
) -> uvicorn.Config:
    """The server for ``app``: HTTPS when ``settings`` name a certificate and key,
    forwarded headers believed only from ``settings.forwarded_allow_ips``."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": log_config(),
        "log_level": "info",
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
    }
    if settings.tls_certfile is not None and settings.tls_keyfile is not None:
        options["ssl_certfile"] = str(settings.tls_certfile)
        options["ssl_keyfile"] = str(settings.tls_keyfile)
        if settings.tls_keyfile_password is not None:
            options["ssl_keyfile_password"] = settings.tls_keyfile_password.get_secret_value()
    options.update(overrides)
    return uvicorn.Config(app, **options)


def serve(app: FastAPI, settings: ControlPlaneSettings) -> None:
    uvicorn.Server(uvicorn_config(app, settings)).run()
