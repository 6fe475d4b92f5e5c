"""`turnout agent run package.module:handler --deployment D --colour blue --instance NAME`.

Runs one agent in the foreground until SIGTERM or SIGINT, then stops it cleanly (drain,
commit, release, deregister) and exits 0. Bad input (an unimportable handler, an invalid
option) fails at once with a one-line error and exit code 2; an agent that failed or did
not stop within ``--stop-timeout`` exits 1.

How it processes is the deployment's to say: the directive's processing settings
(ordering, workers, in-flight bounds, retries, the decision for exhausted records,
escalation, dead letters, commit batching) drive the work manager, applied live, exactly
as for an embedded ``Agent`` without a dispatcher of its own. What only the code can
know comes from the handler: a coroutine function runs as tasks, a function marked
``@turnout.agent.batch_handler`` (or run with ``--batch``) gets batches, and a function
marked ``@turnout.agent.processor`` is a processor: its outputs are written to the
deployment's output topics with its guarantee (docs/processors.md). There is no flag
for a processing setting: a local override would make one instance differ from its
deployment where the dashboard cannot see it. Local flags are for what is this
process's own: how to reach ZooKeeper and Kafka (credentials only through the
environment or an env file, never a flag: ``ps`` shows flags to every user), the
handler's shape, metrics, logs and the stop's time.

Before the agent starts, ``turnout.agent.preflight.check_access`` asks both clusters
whether they accept its credentials and rights; a refusal is one line on stderr and exit
code 1, with nothing written.

The agent itself (the Kafka and ZooKeeper clients) is imported by the command, not by
this module: ``turnout --help`` and the client commands never load it.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from turnout.agent import cli_options as options
from turnout.agent.cli_options import DEFAULT_STOP_TIMEOUT_S
from turnout.agent.handlers import is_batch_handler
from turnout.agent.processors.contract import is_processor

if TYPE_CHECKING:
    from pydantic import ValidationError

    from turnout.agent.config import AgentConfig
    from turnout.agent.coordination import Agent
    from turnout.agent.dispatch import Handler
    from turnout.agent.environment import AgentEnvironment
    from turnout.agent.observer import AgentObserver
    from turnout.agent.processors.output_target import OutputTarget


app = typer.Typer(help="Run a Turnout agent (the consumer side of a deployment).")


class BadInput(Exception):
    """Something the user passed cannot work; the message is one line."""


def load_handler(spec: str) -> Callable[..., object]:
    """Import ``package.module:attribute`` and check it is callable."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise BadInput(f"handler {spec!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise BadInput(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise BadInput(f"{module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise BadInput(f"{spec!r} is not callable")
    handler: Callable[..., object] = target
    return handler


def invalid(error: ValidationError, what: str) -> BadInput:
    """One line for the first problem pydantic found in ``what``."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or what
    return BadInput(f"invalid {where}: {first['msg']}")


def build_config(**values: Any) -> AgentConfig:
    """An AgentConfig from CLI values (None means: not given, use env/file/default)."""
    from pydantic import ValidationError

    from turnout.agent.config import AgentConfig

    given = {k: v for k, v in values.items() if v is not None}
    try:
        return AgentConfig(**given)
    except ValidationError as exc:
        raise invalid(exc, "config") from exc
    except ValueError as exc:
        raise BadInput(str(exc).splitlines()[0]) from exc


def run_until_signalled(
    config: AgentConfig,
    handler: Handler,
    *,
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
    observer: AgentObserver | None = None,
    ready: Callable[[Agent], None] | None = None,
    batch: bool = False,
    processor: bool = False,
    output_target: OutputTarget | None = None,
    environment: AgentEnvironment | None = None,
) -> int:
    """Run an agent until SIGTERM/SIGINT; the process exit code. The deployment's
    processing settings drive it (``batch``: the handler takes batches; ``processor``: it
    is a processor; ``output_target``: its outputs go there, the mirror's target;
    ``environment``: what it is built from, a migrating colour's consumer say)."""
    from turnout.agent.coordination import Agent, AgentState
    from turnout.agent.heap import freeze_start_up, space_young_collections
    from turnout.agent.preflight import AccessRefused, check_access
    from turnout.agent.work.deployment import CodePolicy

    try:
        check_access(config)
    except AccessRefused as exc:
        print(f"turnout agent: {exc}", file=sys.stderr)  # noqa: T201
        return 1

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = CodePolicy(batch=batch, processor=processor, output_target=output_target)
    # This process is the agent's (``heap``).
    freeze_start_up()
    space_young_collections()
    agent = Agent(
        config, handler, observer=observer, code_policy=code, environment=environment
    ).start()
    if ready is not None:
        ready(agent)
    while not stop.wait(0.2):
        if agent.state is AgentState.FAILED or agent.state is AgentState.STOPPED:
            break
    finished = agent.stop(stop_timeout_s)
    failed = agent.state is AgentState.FAILED
    if failed:
        print(f"turnout agent: failed: {agent.status().errors[-1:]}", file=sys.stderr)  # noqa: T201
    return 0 if finished and not failed else 1


def parse_kafka_properties(items: list[str]) -> dict[str, str]:
    """``--kafka-property`` values (``key=value``) as a dict; a malformed one is bad input."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--kafka-property {item!r} must look like key=value")
        out[key.strip()] = value.strip()
    return out


@app.command()
def run(
    handler: Annotated[str, typer.Argument(help="The record handler: package.module:function")],
    deployment: options.Deployment = None,
    colour: options.Colour = None,
    instance: options.Instance = None,
    version: options.Version = None,
    zookeeper: options.ZooKeeper = None,
    zk_root: options.ZkRoot = None,
    kafka: options.Kafka = None,
    session_timeout: options.SessionTimeout = None,
    fence_margin: options.FenceMargin = None,
    offset_store: options.OffsetStore = None,
    auto_offset_reset: options.AutoOffsetReset = None,
    metrics_port: options.MetricsPort = None,
    properties: options.Properties = None,
    security_env_file: options.SecurityEnvFile = None,
    kafka_property: options.KafkaProperty = None,
    stop_timeout: options.StopTimeout = DEFAULT_STOP_TIMEOUT_S,
    log_level: options.LogLevel = "INFO",
    log_json: options.LogJson = True,
    batch: options.Batch = None,
) -> None:
    """Run an agent until SIGTERM/SIGINT, then drain, commit, release and exit 0.

    Every option also reads TURNOUT_AGENT_<FIELD> (e.g. TURNOUT_AGENT_SESSION_TIMEOUT_S)
    and the --properties file; options win over the environment, which wins over the file.
    How records are processed (ordering, workers, retries, dead letters, ...) is the
    deployment's processing settings, applied live; a coroutine handler runs as tasks.
    """
    from turnout.agent import logs

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
            offset_store=offset_store,
            auto_offset_reset=auto_offset_reset,
            metrics_port=metrics_port,
            properties_file=properties,
            security_env_file=security_env_file,
            kafka_properties=parse_kafka_properties(kafka_property or []) or None,
        )
    except BadInput as exc:
        typer.echo(f"turnout agent: {exc}", err=True)
        raise typer.Exit(code=2) from None
    logs.configure(log_level, json_lines=log_json)
    code = run_handler_until_signalled(function, config, batch=batch, stop_timeout_s=stop_timeout)
    raise typer.Exit(code=code)


def run_handler_until_signalled(
    function: Callable[..., object],
    config: AgentConfig,
    *,
    batch: bool | None,
    stop_timeout_s: float,
    environment: AgentEnvironment | None = None,
) -> int:
    """``run_until_signalled`` for a user's handler: its shape (batches, a processor) as
    marked, unless ``batch`` says otherwise; the process exit code."""
    per_batch = is_batch_handler(function) if batch is None else batch
    return run_until_signalled(
        config,
        function,
        stop_timeout_s=stop_timeout_s,
        batch=per_batch,
        processor=is_processor(function),
        environment=environment,
    )
