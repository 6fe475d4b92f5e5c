"""`turnout demo`: the README's main job, on a fresh clone.

Today it brings up the local stack and says where everything is; the control plane and
sample agents join it as they land.
"""

from __future__ import annotations

import typer

from turnout.devstack import LocalStack, StackError, StackSettings


def demo() -> None:
    """Bring up the local stack and print where everything is."""
    settings = StackSettings()
    stack = LocalStack(settings)
    try:
        result = stack.up(progress=lambda line: typer.echo(f"… {line}"))
    except StackError as error:
        typer.echo(error.render(), err=True)
        raise typer.Exit(code=1) from error
    typer.echo(
        "the local stack is already up" if result.already_running else "the local stack is up"
    )
    typer.echo(f"  ZooKeeper  {settings.zookeeper_connect}")
    typer.echo(f"  Kafka      {settings.kafka_bootstrap}")
    typer.echo(f"  state, data and logs under {settings.state_dir}")
    typer.echo("  stop it with: uv run turnout dev down")
