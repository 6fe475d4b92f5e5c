"""The `turnout` command.

Each run imports only the module that defines the command it runs: `turnout --help` lists
every command from the names and one-line help written down here, and `turnout status D`
imports the API client and nothing of the agent or the server. Every other command is
registered as a stand-in carrying its name and one-line help, so the listing, the
"No such command" message and its suggestions stay those of the whole command.

A command set's summaries must match what its module registers (name, order, first line
of help): tests/unit/test_cli_startup.py compares this listing with the whole command's.

The help is plain text (no Rich): importing Rich to format it costs more than the rest of
`turnout --help`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import typer

HELP = "Turnout: blue/green consumer orchestration for Apache Kafka."
#: Set by a shell asking for completions; the words to complete are not in argv then.
COMPLETION_VARIABLE = "_TURNOUT_COMPLETE"


@dataclass(frozen=True)
class CommandSet:
    """The commands one module adds to `turnout`, known by name and one-line help before
    that module is imported: each mapping goes from name to the first line of its help,
    in registration order (Typer lists plain commands before groups)."""

    register: Callable[[typer.Typer], None]  # imports the module, adds the commands
    commands: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> set[str]:
        return {*self.commands, *self.groups}

    def add_stand_ins(self, app: typer.Typer) -> None:
        for name, summary in self.commands.items():
            app.command(name=name, help=summary)(_not_imported)
        for name, summary in self.groups.items():
            app.add_typer(typer.Typer(help=summary), name=name)


def _register_dev(app: typer.Typer) -> None:
    from turnout.devstack.cli import app as dev_app

    app.add_typer(dev_app, name="dev")


def _register_agent(app: typer.Typer) -> None:
    from turnout.agent.cli import app as agent_app

    app.add_typer(agent_app, name="agent")


def _register_mirror(app: typer.Typer) -> None:
    from turnout.mirror.cli import app as mirror_app

    app.add_typer(mirror_app, name="mirror")


def _register_syslog(app: typer.Typer) -> None:
    from turnout.syslog.cli import app as syslog_app

    app.add_typer(syslog_app, name="syslog")


def _register_demo(app: typer.Typer) -> None:
    from turnout.demo import demo

    app.command(name="demo")(demo)


def _register_controlplane(app: typer.Typer) -> None:
    from turnout.controlplane.cli import register

    register(app)


COMMAND_SETS = (
    CommandSet(
        _register_dev,
        groups={
            "dev": "A real local ZooKeeper + Kafka (KRaft) for demos and tests, without Docker."
        },
    ),
    CommandSet(
        _register_agent,
        groups={"agent": "Run a Turnout agent (the consumer side of a deployment)."},
    ),
    CommandSet(
        _register_mirror,
        groups={"mirror": "Mirror topics to another Kafka cluster, as a Turnout deployment."},
    ),
    CommandSet(
        _register_syslog,
        groups={"syslog": "Syslog into Kafka that keeps every TCP line through an outage."},
    ),
    CommandSet(
        _register_demo,
        commands={
            "demo": "Stack + control plane + a sample deployment (2 blue, 2 green agents, a "
            "producer)."
        },
    ),
    CommandSet(
        _register_controlplane,
        groups={
            "controlplane": "Run the control plane (REST API + reconciler).",
            "token": "API tokens (written straight to the database).",
            "deployments": "Create and read deployments through the API.",
        },
        commands={
            "switch": "Switch a deployment's live role to the other colour (refused while it is "
            "not ready,",
            "rollback": "Switch back to the colour that was live before the latest switch.",
            "assign": "Pin partitions to instances (switches the strategy to manual).",
            "status": "Partitions, owners, offsets and lag of a deployment, as a table.",
            "settings": "Show a deployment's processing settings, or change some (--set, --file):",
        },
    ),
)


def _not_imported() -> None:
    """Stands in for a command whose module this run did not import; never runs, because
    the command a run names is always imported."""
    raise AssertionError("a stand-in command ran")


def build_app(command: str | None, *, everything: bool = False) -> typer.Typer:
    """The `turnout` command with the module defining ``command`` imported (all of them
    when ``everything``); every other command stands in by name and one-line help."""
    app = typer.Typer(
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for command_set in COMMAND_SETS:
        if everything or command in command_set.names():
            command_set.register(app)
        else:
            command_set.add_stand_ins(app)
    return app


def command_name(args: Sequence[str]) -> str | None:
    """The sub-command ``args`` run: the first word that is not an option (the top-level
    options, --help and the completion ones, take no value)."""
    return next((arg for arg in args if not arg.startswith("-")), None)


def main() -> None:
    completing = COMPLETION_VARIABLE in os.environ
    build_app(command_name(sys.argv[1:]), everything=completing)()


def __getattr__(name: str) -> typer.Typer:
    """``turnout.cli.app``: the whole command with every module imported, for driving it
    in-process (tests); the console script builds only what it runs."""
    if name == "app":
        return build_app(None, everything=True)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
