"""The `turnout` command."""

from __future__ import annotations

import typer

from turnout.agent.cli import app as agent_app
from turnout.controlplane.cli import register as register_controlplane
from turnout.demo import demo
from turnout.devstack.cli import app as dev_app
from turnout.syslog.cli import app as syslog_app

app = typer.Typer(
    help="Turnout: blue/green consumer orchestration for Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_app, name="dev")
app.add_typer(agent_app, name="agent")
app.add_typer(syslog_app, name="syslog")
app.command(name="demo")(demo)
register_controlplane(app)


def main() -> None:
    app()
